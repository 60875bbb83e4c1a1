"""Training the check-worthiness gate (:mod:`claimcluster.gate`) from public train rows.

The data and its fixed dev partition (written down once, chosen before any training):

* ``fnc1_assertion_pairs_train/pairs.jsonl`` (news; sample weight 3): the ``a_claim`` and
  ``b_claim`` flags of each sentence. A pair is in the dev partition when
  :func:`~claimcluster.training.data.in_dev` holds for ``"fnc1-pair:<pair_id>"``, the partition
  of the same-assertion judge. A sentence repeated with both flags counts as a claim.
* ``checkworthiness/claimbuster_25ncs.jsonl`` (debates; weight 0.3, as its 0 also holds factual
  but unimportant sentences): ``checkworthy``; dev when ``in_dev("claimbuster:<sentence_id>")``.
* ``checkworthiness/checkthat2022_1b_claims.jsonl`` (tweets; weight 0.3): ``claim``; rows of
  ``split == "train"`` learn, rows of ``split == "dev"`` are its dev partition, others unread.

A training sentence whose text is also the text of a held-back row (a dev sentence of any set,
a CheckThat dev or test tweet) is dropped, so no dev sentence is learned from. Of held-back rows
only the texts are read for that; their labels are read by the evaluation alone, after training.
The vocabulary (the :data:`MAX_TERMS` commonest terms, each of at least :data:`MIN_DF` training
sentences) and the model come from train rows only; the threshold is the highest that keeps
:data:`KEEP_CLAIMS` of the fnc1 dev claims through the whole gate (rules, then model).

Example
-------
``python -m claimcluster.training.gate --data ../shared/data`` writes ``claimcluster/models/gate.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.assertion._models import LinearModel, model_json, save_model, standardiser
from claimcluster.errors import InputError
from claimcluster.gate import (
    GATE_CLASSES,
    GATE_FILE,
    SURFACE_FEATURES,
    TERM_PREFIX,
    CheckworthinessGate,
    gate_from_json,
    rule_reason,
    sentence_terms,
    surface_features,
)
from claimcluster.segment import clean_social_text
from claimcluster.training.data import file_sha256, in_dev, read_jsonl

__all__ = ["GateData", "load_gate_data", "train_gate", "choose_threshold", "WEIGHTS", "MIN_DF", "MAX_TERMS",
           "KEEP_CLAIMS"]

FNC1 = ("fnc1_assertion_pairs_train", "pairs.jsonl")
CLAIMBUSTER = ("checkworthiness", "claimbuster_25ncs.jsonl")
CHECKTHAT = ("checkworthiness", "checkthat2022_1b_claims.jsonl")
WEIGHTS = {"fnc1": 3.0, "claimbuster": 0.3, "checkthat": 0.3}
MIN_DF = 3
MAX_TERMS = 10_000
"""At most this many terms: the file stays under 400 KB; more terms gained < 0.003 dev AUC."""
KEEP_CLAIMS = 0.97
C = 0.25
DIGITS = 5
"""Significant digits kept of each weight in the file (its size); the dev figures use the rounded model."""


@dataclass
class GateData:
    """Labelled training sentences (text, label 1 = checkable, source set) and each set's dev sentences."""

    train: list[tuple[str, int, str]] = field(default_factory=list)
    dev: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    dropped_by_wall: int = 0


def _fnc1_sentences(rows: list[dict]) -> list[tuple[str, int]]:
    """Each distinct sentence once; claim when any of its flags says so."""
    flags: dict[str, bool] = {}
    for row in rows:
        for side in ("a", "b"):
            flags[row[side]] = flags.get(row[side], False) or bool(row[f"{side}_claim"])
    return [(text, int(flag)) for text, flag in flags.items()]


def load_gate_data(data: str | Path) -> GateData:
    """Read the three sets from ``data`` and split them as the module docstring says."""
    data = Path(data)
    paths = {name: data / folder / file for name, (folder, file) in
             (("fnc1", FNC1), ("claimbuster", CLAIMBUSTER), ("checkthat", CHECKTHAT))}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(f"no {path.relative_to(data)} under {data}")
    out = GateData(files={str(p.relative_to(data)): file_sha256(p) for p in paths.values()})
    pairs = read_jsonl(paths["fnc1"])
    dev_pairs = [r for r in pairs if in_dev(f"fnc1-pair:{r['pair_id']}")]
    candidates = [(text, label, "fnc1") for text, label in
                  _fnc1_sentences([r for r in pairs if not in_dev(f"fnc1-pair:{r['pair_id']}")])]
    out.dev["fnc1"] = _fnc1_sentences(dev_pairs)
    held = {text for r in dev_pairs for text in (r["a"], r["b"])}
    for row in read_jsonl(paths["claimbuster"]):
        if in_dev(f"claimbuster:{row['sentence_id']}"):
            out.dev.setdefault("claimbuster", []).append((row["text"], int(row["checkworthy"])))
            held.add(row["text"])
        else:
            candidates.append((row["text"], int(row["checkworthy"]), "claimbuster"))
    for row in read_jsonl(paths["checkthat"]):
        text = clean_social_text(row["text"])
        if row.get("split") == "train":
            candidates.append((text, int(row["claim"]), "checkthat"))
        else:
            if row.get("split") == "dev":
                out.dev.setdefault("checkthat", []).append((text, int(row["claim"])))
            held.add(text)
    out.train = [(text, label, source) for text, label, source in candidates if text not in held]
    out.dropped_by_wall = len(candidates) - len(out.train)
    return out


def _vocabulary(texts: list[str]) -> list[str]:
    """The :data:`MAX_TERMS` terms found in most training sentences (at least :data:`MIN_DF`), sorted."""
    counts = Counter(term for text in texts for term in sentence_terms(text))
    frequent = sorted((term for term, n in counts.items() if n >= MIN_DF), key=lambda term: (-counts[term], term))
    return sorted(frequent[:MAX_TERMS])


def _design(texts: list[str], vocabulary: list[str], mean: np.ndarray, scale: np.ndarray) -> Any:
    """Sparse feature matrix: standardised surface features, then binary term columns."""
    from scipy import sparse

    index = {term: i for i, term in enumerate(vocabulary)}
    rows, cols = [], []
    for row, text in enumerate(texts):
        found = sorted(index[t] for t in sentence_terms(text) if t in index)
        rows.extend([row] * len(found))
        cols.extend(found)
    terms = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(index)))
    return sparse.hstack([sparse.csr_matrix((surface_features(texts) - mean) / scale), terms], format="csr")


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.{DIGITS}g}") for v in np.ravel(values)]


def choose_threshold(probability: np.ndarray, ruled_out: np.ndarray, claim: np.ndarray) -> float:
    """The highest threshold at which the gate keeps at least :data:`KEEP_CLAIMS` of the claims."""
    need = math.ceil(KEEP_CLAIMS * int(claim.sum()))
    passing = np.sort(probability[claim & ~ruled_out])[::-1]
    if need == 0 or len(passing) < need:
        raise InputError(f"the rules alone drop {int((claim & ruled_out).sum())} of {int(claim.sum())} dev claims: "
                         f"no threshold keeps {KEEP_CLAIMS:.0%} of them")
    return float(np.clip(passing[need - 1], 1e-6, 1 - 1e-6))


def _evaluate(gate: CheckworthinessGate, dev: dict[str, list[tuple[str, int]]]) -> tuple[float, dict[str, Any]]:
    """Choose the threshold on the fnc1 dev sentences and measure every dev set."""
    from sklearn.metrics import roc_auc_score

    figures: dict[str, Any] = {}
    for name, rows in dev.items():
        texts, labels = [t for t, _ in rows], np.array([y for _, y in rows], dtype=bool)
        probability = gate.probability(texts)
        auc = round(float(roc_auc_score(labels, probability)), 4) if 0 < labels.sum() < len(labels) else None
        figures[name] = {"sentences": len(rows), "claims": int(labels.sum()), "roc_auc": auc}
        if name == "fnc1":
            ruled_out = np.array([rule_reason(t) is not None for t in texts])
            threshold = choose_threshold(probability, ruled_out, labels)
            kept = ~ruled_out & (probability >= threshold)
            figures[name].update(threshold=threshold, claims_kept=round(float(kept[labels].mean()), 4),
                                 non_claims_caught=round(float(1 - kept[~labels].mean()), 4),
                                 non_claims_caught_by_rules=round(float(ruled_out[~labels].mean()), 4))
    return figures["fnc1"]["threshold"], figures


def train_gate(data_dir: str | Path, out: Path = GATE_FILE, seed: int = 0, *, command: str = "") -> dict[str, Any]:
    """Train the gate on the train partition, choose its threshold on the fnc1 dev sentences, write ``out``.

    Returns the written file's contents (a ``claimcluster-linear`` object of kind ``gate``)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    data = load_gate_data(data_dir)
    texts = [text for text, _, _ in data.train]
    labels = np.array([label for _, label, _ in data.train])
    weights = np.array([WEIGHTS[source] for _, _, source in data.train])
    vocabulary = _vocabulary(texts)
    mean, scale = standardiser(surface_features(texts))
    model = LogisticRegression(C=C, max_iter=5000, random_state=seed)
    model.fit(_design(texts, vocabulary, mean, scale), labels, sample_weight=weights)
    n_terms = len(vocabulary)
    features = tuple(SURFACE_FEATURES) + tuple(TERM_PREFIX + term for term in vocabulary)
    linear = LinearModel(features, np.concatenate([mean, np.zeros(n_terms)]),
                         np.concatenate([scale, np.ones(n_terms)]), model.coef_, model.intercept_, GATE_CLASSES)
    body = model_json("gate", None, linear, threshold=0.5)
    body.update(mean=_round(linear.mean), scale=_round(linear.scale), coef=[_round(model.coef_)],
                intercept=_round(model.intercept_))
    threshold, figures = _evaluate(gate_from_json(body, out), data.dev)
    counts = Counter(f"{source}:{label}" for _, label, source in data.train)
    body["threshold"] = threshold
    body["meta"] = {"dev": figures, "keep_claims": KEEP_CLAIMS, "C": C, "min_df": MIN_DF, "max_terms": MAX_TERMS,
                    "weights": WEIGHTS, "train_sentences": len(texts), "train_claims": int(labels.sum()),
                    "terms": n_terms, "train_counts": dict(sorted(counts.items())),
                    "dropped_by_wall": data.dropped_by_wall, "files": data.files, "seed": seed,
                    "sklearn": sklearn.__version__, "command": command}
    save_model(out, body)
    return body


def main(argv: list[str] | None = None) -> int:
    """``python -m claimcluster.training.gate --data DIR [--out FILE] [--seed N]``."""
    parser = argparse.ArgumentParser(prog="python -m claimcluster.training.gate", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory holding the public data sets")
    parser.add_argument("--out", type=Path, default=GATE_FILE, help=f"gate file to write (default: {GATE_FILE})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    body = train_gate(args.data, args.out, args.seed, command=" ".join(["python -m claimcluster.training.gate",
                                                                       *(argv if argv is not None else sys.argv[1:])]))
    fnc1 = body["meta"]["dev"]["fnc1"]
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB, {body['meta']['terms']} terms): fnc1 dev keeps "
          f"{fnc1['claims_kept']:.1%} of claims, catches {fnc1['non_claims_caught']:.1%} of non-claims, "
          f"AUC {fnc1['roc_auc']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
