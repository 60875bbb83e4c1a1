"""The check-worthiness gate: does a sentence state a checkable assertion about the world?

A claim is an event, a figure, an act, or a quote that asserts something. Questions, pure
opinion, discourse ("Here's what we know:"), page furniture, bylines, photo credits, dates,
markup and verbless fragments are not. The gate reads the text alone, so it serves any
embedding model. Visible rules name the obvious kinds first; a linear model over word
unigrams, bigrams and a few surface features (``claimcluster/models/gate.json``, written by
``python -m claimcluster.training.gate``) judges the rest. Its threshold was chosen on news
dev sentences to keep at least 97% of the claims.

Example
-------
>>> from claimcluster.gate import gate_reasons
>>> gate_reasons(["Click here for video", "Who knew?", "Russia denied that any soldiers were killed."])
['furniture', 'question', None]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from claimcluster.assertion import NEGATION
from claimcluster.assertion._models import FORMAT, VERSION, LinearModel
from claimcluster.errors import InputError, ModelIntegrityError
from claimcluster.models import MODEL_DIR
from claimcluster.segment import DEFAULT_FURNITURE_RULES, first_rule, normalize_text

__all__ = ["GATE_REASONS", "GATE_FILE", "SURFACE_FEATURES", "TERM_PREFIX", "CheckworthinessGate", "gate_reasons",
           "checkable_probability", "shipped_gate", "load_gate", "rule_reason", "sentence_terms", "surface_features"]

GATE_REASONS = ("markup", "date", "byline", "furniture", "question", "fragment", "not checkable")
GATE_FILE = MODEL_DIR / "gate.json"
GATE_CLASSES = ("not checkable", "checkable")
SURFACE_FEATURES = ("log_words", "has_digit", "has_quote", "ends_question", "ends_colon", "ends_exclamation",
                    "first_person", "second_person", "capitalised", "has_verb")
TERM_PREFIX = "term:"
_BATCH = 256

_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:'[A-Za-z]+)?")
_TOKEN = re.compile(r"https?://\S+|www\.\S+|[a-z\u00c0-\u024f]+(?:'[a-z]+)?|\d[\d.,:]*")
_VERBS = frozenset("""am is are was were be been being has have had do does did will would can could may might must
shall should 's 're 've 'd 'll 'm say said tell told according want make made get got take took give gave need plan
claim deny allege attack kill die face win won lose lost ban warn urge vow seek call find found reveal show admit
arrest hit launch order pay open close sue buy sell confirm report leave left join back block return set cut raise
meet met run ran go went come came see saw know knew think thought keep kept begin began put let become became
ate bit broke brought built bought caught chose drew drove fell felt fought fled flew froze grew heard held hid hurt
led meant rose sent shot shook sold spoke spent stood stole struck swore threw wore wrote woke seen done gone given
taken known shown written spoken chosen driven eaten fallen hidden stolen broken risen thrown grown drawn flown begun
spend live love like work use help
est sont été être avoir serait était ist sind war wurde está fue""".split())  # a few French/Spanish/German ones
_FIRST = frozenset("i me my mine we us our ours i'm i've i'd i'll we're we've we'd we'll".split())
_SECOND = frozenset("you your yours you're you've you'd you'll".split())
_SUBJECTS = frozenset("i we you they he she it who to".split())
_CALENDAR = frozenset("""jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july
august september october november december mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday
thursday friday saturday sunday""".split())
_DATE_WORDS = _CALENDAR | frozenset("am pm a.m p.m gmt utc on at of the last update updated published posted".split())
_DATE_TOKEN = re.compile(r"\d{1,4}(st|nd|rd|th)?|\d{1,2}:\d{2}|[A-Z]{2,4}")

_MARKUP = re.compile(r"\{[^{}]*[:;][^{}]*\}|</?[a-z][a-z0-9]*(\s[^<>]*)?/?>|&(nbsp|amp|quot|lt|gt|#\d+);"
                     r"|\bfunction\s*\(|\bvar \w+\s*=|<!--|//-->|\b\w+ = '[^']*';|\b(document|window)\.\w+"
                     r"|^\s*[.#]?[\w-]+\s*\{", re.IGNORECASE)
_BYLINE = re.compile(r"^\W*(By|BY|Written by|Reported by|Reporting by|Posted by)\s+[A-Z][\w.'-]*"
                     r"(\s+(and\s+)?[A-Z][\w.'-]*){0,4}\s*(,\s*[A-Z][\w .'-]{0,40})?\W*$"
                     r"|\b(AP|AFP|EPA|Reuters|Getty) (Photo|Images)\b|^[A-Z][A-Z .'-]+ (FOR|/) [A-Z .'-]+$"
                     r"|^\W*(photo|image|picture|video)s?( credit)?\s*(:|by\b)")
_FURNITURE = re.compile(r"^\W*(click (here|for|to)\b|more (from|on|info|information)\b|to contact the (author|reporter"
                        r"|editor)|sources?\s*:|related( \w+)?\s*:|tags?\s*:|filed under\b|follow (us|him|her|me)\b"
                        r"|sign up\b|subscribe\b|copyright\b|\u00a9|h/t\b|in pictures\s*:)"
                        r"|contributed to this (report|story|article)",
                        re.IGNORECASE)
_QUESTION = re.compile(r"\?\W*$")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_RULE_REASON = {"byline": "byline", "photo-credit": "byline", "script": "markup", "number-only": "fragment",
                "bare-bullet": "fragment"}


def _verb_like(word: str, name: bool = False) -> bool:
    """A lower-cased token that is probably a verb: an auxiliary, a common verb, or (unless it is written as a
    ``name``, capitalised inside the sentence: "Times", "Holdings") a verb-like ending."""
    if word in _VERBS or word.endswith(("n't", "'s", "'re", "'ve", "'d", "'ll", "'m")):
        return True
    if name:
        return False
    if len(word) > 3 and word.endswith(("ed", "ing")):
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous"))


def _has_verb(words: list[str], lower: list[str]) -> bool:
    """True when a word is probably a verb, or follows a subject pronoun or ``to`` (``words`` as written). In a
    sentence not in title case (a headline capitalises every longer word: "Obama Signs Bill"), a capitalised
    word inside it is a name, whatever its ending (a caption: "... Vice CEO Shane Smith at the Conference").
    ``lower``: the same words lower-cased (each caller has them already)."""
    title_case = all(w[0].isupper() for w in words if len(w) > 3)
    return any(_verb_like(w, not title_case and i > 0 and words[i][0].isupper())
               or (i > 0 and lower[i - 1] in _SUBJECTS) for i, w in enumerate(lower))


def _is_date(text: str) -> bool:
    tokens = re.findall(r"[\w.:]+", text)
    rest = [t for t in tokens if t.lower().strip(".:") not in _DATE_WORDS and not _DATE_TOKEN.fullmatch(t)]
    dated = any(t[0].isdigit() or t.lower().strip(".:") in _CALENDAR for t in tokens)
    return bool(tokens) and dated and not rest


def rule_reason(text: str) -> str | None:
    """The reason a visible rule rejects ``text`` (one of :data:`GATE_REASONS`), or None."""
    text = normalize_text(text)
    if _MARKUP.search(text):
        return "markup"
    if _is_date(text):
        return "date"
    if _BYLINE.search(text):
        return "byline"
    if _FURNITURE.search(text) or (_EMAIL.search(text) and len(text.split()) < 12):
        return "furniture"
    named = first_rule(text, DEFAULT_FURNITURE_RULES)
    if named is not None:
        return _RULE_REASON.get(named.name, "furniture")
    if _is_question(text):
        return "question"
    return "fragment" if _is_fragment(text) else None


def _is_question(text: str) -> bool:
    """Ends in a question mark, unless that ends a quotation opened late ('... with "How can I help you?"')."""
    if not _QUESTION.search(text):
        return False
    quoted = re.search(r"\"[^\"]*\?\W*$", text)
    return quoted is None or len(_WORD.findall(text[:quoted.start()])) < 8


def _is_fragment(text: str) -> bool:
    """Under three words; no verb and no figure; or a short lead-in ending in a colon ("Here's what we know:")."""
    written = _WORD.findall(text)
    words = [w.lower() for w in written]
    verbless = not (_has_verb(written, words) or any(c.isdigit() for c in text))
    return len(words) < 3 or verbless or (text.endswith(":") and len(words) < 8)


def sentence_terms(text: str) -> set[str]:
    """Lower-cased word unigrams and bigrams (``^`` opens the sentence; numbers are ``0``, links ``url``)."""
    tokens = ["url" if t.startswith(("http", "www.")) else "0" if t[0].isdigit() else t
              for t in _TOKEN.findall(normalize_text(text).lower())]
    return set(tokens) | {f"{a} {b}" for a, b in zip(["^", *tokens], tokens)}


def surface_features(texts: Sequence[str]) -> np.ndarray:
    """The surface features of :data:`SURFACE_FEATURES`, ndarray of shape (n_texts, 10)."""
    rows = []
    for raw in texts:
        text = normalize_text(raw)
        words = _WORD.findall(text)
        lower = [w.lower() for w in words]
        n = max(len(words), 1)
        rows.append([math.log1p(len(words)), any(c.isdigit() for c in text), bool(re.search(r"\"|(^|\s)'", text)),
                     bool(_QUESTION.search(text)), text.endswith(":"), bool(re.search(r"!\W*$", text)),
                     sum(w in _FIRST for w in lower) / n, sum(w in _SECOND for w in lower) / n,
                     sum(w[0].isupper() for w in words) / n, _has_verb(words, lower)])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(SURFACE_FEATURES))


@dataclass(frozen=True)
class CheckworthinessGate:
    """A learned gate: the linear model, its vocabulary and its decision threshold."""

    linear: LinearModel
    vocabulary: dict[str, int]
    """Term -> column of the model's feature matrix."""
    threshold: float
    """A sentence is checkable when its probability is at least this."""

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each text states a checkable assertion, ndarray of shape (n_texts,)."""
        texts = _checked(texts)
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), _BATCH):
            batch = texts[start:start + _BATCH]
            X = np.zeros((len(batch), len(self.linear.features)))
            X[:, :len(SURFACE_FEATURES)] = surface_features(batch)
            for row, text in enumerate(batch):
                X[row, [self.vocabulary[t] for t in sentence_terms(text) if t in self.vocabulary]] = 1.0
            out[start:start + len(batch)] = self.linear.proba(X)[:, 1]
        return out

    def reasons(self, texts: Sequence[str]) -> list[str | None]:
        """None for each text that states a checkable assertion, else its reason (see :data:`GATE_REASONS`)."""
        texts = _checked(texts)
        reasons = [rule_reason(text) for text in texts]
        pending = [i for i, reason in enumerate(reasons) if reason is None]
        for i, p in zip(pending, self.probability([texts[i] for i in pending])):
            reasons[i] = None if p >= self.threshold or _named_denial(texts[i]) else "not checkable"
        return reasons


# Capitalised words that open sentences without naming anyone.
_OPENERS = frozenset("""a an the this that these those it its he she they we i you his her their our my your there
here but and or so yet however still also even then now when while if as after before although though because
no not none nothing never nobody neither""".split())


def _named_denial(text: str) -> bool:
    """A denial or negation about someone named ("Macaulay Culkin is NOT dead.", "Francis did not say..."): the
    model, which learned from debates and tweets, scores these short denials low, and a denial is exactly what
    a claim's reader needs to see, so the model alone never holds one back."""
    if not NEGATION.search(text):
        return False
    words = _WORD.findall(text)
    return any(w[0].isupper() and (j > 0 or w.lower() not in _OPENERS) for j, w in enumerate(words))


def _checked(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise InputError("texts must be a sequence of strings, got one string: wrap it in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"every text must be a str, got {type(text).__name__} at position {i} ({text!r:.60})")
    return texts


def _invalid(path: Path, what: str) -> ModelIntegrityError:
    return ModelIntegrityError(f"{path} is not a valid gate file: {what}; rebuild it with "
                               "python -m claimcluster.training.gate --data DIR")


def gate_from_json(data: Any, path: Path) -> CheckworthinessGate:
    """Check the structure of a parsed gate file and build its :class:`CheckworthinessGate`."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise _invalid(path, f"not a {FORMAT} file of version {VERSION}")
    if data.get("kind") != "gate" or data.get("model_id") is not None:
        raise _invalid(path, f"kind {data.get('kind')!r} with model_id {data.get('model_id')!r}, "
                             "expected kind 'gate' with model_id null")
    features = data.get("features")
    n_surface = len(SURFACE_FEATURES)
    if not isinstance(features, list) or tuple(features[:n_surface]) != SURFACE_FEATURES or not all(
            isinstance(f, str) and f.startswith(TERM_PREFIX) for f in features[n_surface:]):
        raise _invalid(path, f"features must be {list(SURFACE_FEATURES)} then {TERM_PREFIX}<term> columns")
    if tuple(data.get("classes", ())) != GATE_CLASSES:
        raise _invalid(path, f"classes {data.get('classes')!r}, expected {list(GATE_CLASSES)}")
    try:
        linear = LinearModel.from_json(data)
        threshold = float(data["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid(path, f"missing or malformed field ({type(exc).__name__}: {exc})") from None
    n = len(features)
    shapes = (linear.mean.shape, linear.scale.shape, linear.coef.shape, linear.intercept.shape)
    if shapes != ((n,), (n,), (1, n), (1,)):
        raise _invalid(path, f"mean, scale, coef, intercept have shapes {shapes} for {n} features")
    arrays = (linear.mean, linear.scale, linear.coef, linear.intercept)
    if not all(np.isfinite(a).all() for a in arrays) or (linear.scale <= 0).any() or not 0 < threshold < 1:
        raise _invalid(path, "non-finite weights, a scale <= 0, or a threshold outside (0, 1)")
    vocabulary = {f[len(TERM_PREFIX):]: i for i, f in enumerate(features) if i >= n_surface}
    return CheckworthinessGate(linear, vocabulary, threshold)


def load_gate(path: str | Path) -> CheckworthinessGate:
    """Read and verify a gate file; a damaged one raises :class:`~claimcluster.errors.ModelIntegrityError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(f"cannot read gate file {path}: {exc}") from None
    return gate_from_json(data, path)


@lru_cache(maxsize=1)
def shipped_gate() -> CheckworthinessGate:
    """The gate shipped in ``claimcluster/models/gate.json``, verified and cached."""
    return load_gate(GATE_FILE)


def gate_reasons(texts: Sequence[str], *, gate: CheckworthinessGate | None = None) -> list[str | None]:
    """Why each text is not a checkable assertion: None when it is, else one of :data:`GATE_REASONS`.

    Parameters
    ----------
    texts : sequence of str
        Sentences.
    gate : CheckworthinessGate, default=None
        The learned part; None uses :func:`shipped_gate`.

    Returns
    -------
    list of (str or None), one per text.
    """
    texts = _checked(texts)
    return (gate or shipped_gate()).reasons(texts)


def checkable_probability(texts: Sequence[str], *, gate: CheckworthinessGate | None = None) -> np.ndarray:
    """The learned model's probability that each text is checkable, ndarray of shape (n_texts,).

    The visible rules of :func:`gate_reasons` are not applied."""
    return (gate or shipped_gate()).probability(texts)
