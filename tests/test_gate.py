"""The check-worthiness gate: its rules, the shipped model, a damaged file, and the fixed training partition."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from claimcluster.assertion._models import read_model
from claimcluster.errors import InputError, ModelIntegrityError
from claimcluster.gate import GATE_FILE, GATE_REASONS, checkable_probability, gate_reasons, load_gate, shipped_gate
from claimcluster.training.data import in_dev
from claimcluster.training.gate import KEEP_CLAIMS, load_gate_data, train_gate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED / "checkworthiness").is_dir(), reason="needs ../shared/data")

ASSERTIONS = [
    "Russia's Defense Ministry denied that any soldiers were killed in Syria.",
    "The platoon's function in Syria is peacekeeping.",
    "Police said 62 people were killed in the blast on Monday.",
]


@pytest.mark.parametrize(("text", "reason"), [
    ("ethanmobile { display: none; }}", "markup"),
    ('<a href="http://www.engadget.com/watch/">Apple Watch</a>', "markup"),
    ("February / 11 / 2015", "date"),
    ("Last Update: Thursday, 5 February 2015 KSA 14:39 - GMT 11:39", "date"),
    ("By John Smith", "byline"),
    ("(AP Photo/The Canadian Press, Sean Kilpatrick)", "byline"),
    ("Photo: Getty Images", "byline"),
    ("-- kmn_size = '300x250'; kmn_placement = '1c8834441f20e22a'; //-->", "markup"),
    ("Click here for video", "furniture"),
    ("h/t Corey Lambrecht | Daily News", "furniture"),
    ("The AP contributed to this report", "furniture"),
    ("To contact the reporter on this story: Terry Atlas in Washington at tatlas@bloomberg.net", "furniture"),
    ("Who knew?", "question"),
    ("Why has North Korea decided to talk now?", "question"),
    ("Here's what we know:", "fragment"),
    ("The goals of which would be that:", "fragment"),
    ("Dictator and leek soup", "fragment"),
    # a photo caption: its names ("Times", "Conference") are no verbs, whatever their endings
    ("New York Times columnist David Carr and Vice CEO Shane Smith at the PromaxBDA #WTFuture Conference in New York",
     "fragment"),
    ("It is what it is.", "not checkable"),
    ("We are all so sad.", "not checkable"),
])
def test_each_kind_of_non_claim_gets_its_reason(text, reason):
    assert gate_reasons([text]) == [reason]
    assert reason in GATE_REASONS


def test_news_assertions_pass():
    assert gate_reasons(ASSERTIONS) == [None] * len(ASSERTIONS)
    assert (checkable_probability(ASSERTIONS) > shipped_gate().threshold).all()


def test_a_headline_in_title_case_is_no_fragment():
    # every longer word capitalised: "Signs" and "Denies" still read as verbs
    assert "fragment" not in gate_reasons(["Obama Signs Bill", "Russia Denies Soldiers Died In Syria"])


def test_a_figure_keeps_a_verbless_line_from_being_a_fragment():
    assert gate_reasons(["Cocaine use up 160 percent in two years."]) != ["fragment"]


def test_a_question_quoted_late_in_a_report_is_no_question():
    text = 'He describes the call as "bizarre," with the rep starting out with "How can I help you?"'
    assert gate_reasons([text]) != ["question"]


def test_probabilities_have_one_row_per_text_in_order():
    p = checkable_probability(["We are all so sad.", ASSERTIONS[0], "We are all so sad."])
    assert p.shape == (3,) and np.isclose(p[0], p[2]) and p.min() >= 0 and p.max() <= 1 and p[1] > p[0]
    assert checkable_probability([]).shape == (0,) and gate_reasons([]) == []


def test_one_string_or_a_non_string_is_refused():
    with pytest.raises(InputError, match="wrap it in a list"):
        gate_reasons("Who knew?")
    with pytest.raises(InputError, match="every text must be a str, got NoneType at position 1"):
        gate_reasons(["Who knew?", None])


def test_shipped_file_is_one_small_linear_model_file():
    data = read_model(GATE_FILE)
    assert data["kind"] == "gate" and data["model_id"] is None
    assert GATE_FILE.stat().st_size < 500_000
    assert data["meta"]["dev"]["fnc1"]["claims_kept"] >= KEEP_CLAIMS
    assert shipped_gate() is shipped_gate()


def _damaged(tmp_path, change) -> Path:
    data = json.loads(GATE_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(coef=[d["coef"][0][:-1]]), r"shapes .* for \d+ features"),
    (lambda d: d.update(kind="stance"), "kind 'stance'"),
    (lambda d: d.update(model_id="all-MiniLM-L6-v2"), "expected kind 'gate' with model_id null"),
    (lambda d: d.update(format="other"), "not a claimcluster-linear file"),
    (lambda d: d.pop("threshold"), "missing or malformed field"),
    (lambda d: d.update(threshold=1.5), "threshold outside"),
    (lambda d: d["features"].__setitem__(0, "word_count"), "features must be"),
    (lambda d: d["scale"].__setitem__(3, 0.0), "scale <= 0"),
])
def test_a_damaged_gate_file_is_refused_with_its_fault(tmp_path, change, message):
    with pytest.raises(ModelIntegrityError, match=message) as caught:
        load_gate(_damaged(tmp_path, change))
    assert "rebuild it with python -m claimcluster.training.gate" in str(caught.value)


def test_a_truncated_gate_file_is_refused(tmp_path):
    path = tmp_path / "gate.json"
    path.write_text(GATE_FILE.read_text(encoding="utf-8")[:1000], encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="cannot read gate file"):
        load_gate(path)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def small_copy(root: Path, *, poison_dev: bool = False, flip_train: bool = False) -> Path:
    """A few hundred rows of each set; ``poison_dev`` changes the labels of held-back rows and adds test rows,
    ``flip_train`` changes the label of one train row."""
    pairs = _read(SHARED / "fnc1_assertion_pairs_train" / "pairs.jsonl")[:300]
    debates = _read(SHARED / "checkworthiness" / "claimbuster_25ncs.jsonl")[:300]
    tweets = _read(SHARED / "checkworthiness" / "checkthat2022_1b_claims.jsonl")
    tweets = [t for t in tweets if t["split"] == "train"][:200] + [t for t in tweets if t["split"] == "dev"][:60]
    if poison_dev:
        pairs = [dict(r, a_claim=False) if in_dev(f"fnc1-pair:{r['pair_id']}") else r for r in pairs]
        debates = [dict(r, checkworthy=1 - r["checkworthy"]) if in_dev(f"claimbuster:{r['sentence_id']}") else r
                   for r in debates]
        tweets = [dict(t, claim=1 - t["claim"]) if t["split"] == "dev" else t for t in tweets]
        tweets += [{"tweet_id": f"t{i}", "text": f"Test tweet {i} says 5 people died.", "claim": 0, "split": "dev_test"}
                   for i in range(5)]
    if flip_train:
        first = next(i for i, r in enumerate(debates) if not in_dev(f"claimbuster:{r['sentence_id']}"))
        debates[first] = dict(debates[first], checkworthy=1 - debates[first]["checkworthy"])
    _write(root / "fnc1_assertion_pairs_train" / "pairs.jsonl", pairs)
    _write(root / "checkworthiness" / "claimbuster_25ncs.jsonl", debates)
    _write(root / "checkworthiness" / "checkthat2022_1b_claims.jsonl", tweets)
    return root


@needs_data
def test_training_reads_the_fixed_partition_only(tmp_path):
    clean = train_gate(small_copy(tmp_path / "clean"), tmp_path / "clean.json")
    poisoned = train_gate(small_copy(tmp_path / "poisoned", poison_dev=True), tmp_path / "poisoned.json")
    flipped = train_gate(small_copy(tmp_path / "flipped", flip_train=True), tmp_path / "flipped.json")
    # Dev labels reach the evaluation and the threshold, never the model.
    assert clean["features"] == poisoned["features"]
    assert clean["coef"] == poisoned["coef"] and clean["intercept"] == poisoned["intercept"]
    assert clean["meta"]["dev"] != poisoned["meta"]["dev"]
    assert clean["coef"] != flipped["coef"]
    assert load_gate(tmp_path / "clean.json").threshold == clean["threshold"]


@needs_data
def test_no_dev_sentence_is_trained_on():
    data = load_gate_data(SHARED)
    train = {text for text, _, _ in data.train}
    assert all(text not in train for name in data.dev for text, _ in data.dev[name])
    pairs = _read(SHARED / "fnc1_assertion_pairs_train" / "pairs.jsonl")
    dev_texts = {r[side] for r in pairs if in_dev(f"fnc1-pair:{r['pair_id']}") for side in "ab"}
    assert {text for text, _ in data.dev["fnc1"]} == dev_texts
    assert 0.17 < len([r for r in pairs if in_dev(f"fnc1-pair:{r['pair_id']}")]) / len(pairs) < 0.23


@needs_data
def test_news_dev_floor_keeps_claims_and_catches_non_claims():
    dev = load_gate_data(SHARED).dev["fnc1"]
    kept = np.array([reason is None for reason in gate_reasons([text for text, _ in dev])])
    claim = np.array([label == 1 for _, label in dev])
    assert kept[claim].mean() >= KEEP_CLAIMS
    assert 1 - kept[~claim].mean() >= 0.40
