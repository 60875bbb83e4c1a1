"""The assertion rules: explicit, tested patterns for what an embedding blurs.

* figures: both texts state quantities and share none ("62 killed" vs "100 killed");
* polarity: a negation or denial cue on one side only;
* roles: the same verb between the same two names, actor and target swapped
  ("Israel accused Hamas" vs "Hamas accused Israel").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from claimcluster.errors import InputError
from claimcluster.segment import normalize_text

__all__ = ["RuleVerdicts", "assertion_rules", "numbers", "numbers_conflict", "roles_swapped", "negated"]

NEGATION = re.compile(
    r"(?<=\w)n't\b|\b(not|no|never|none|nobody|nothing|neither|nor|without|cannot|denie[sd]|deny|denying|denial|reject(s|ed)?|"
    r"refute[sd]?|false(ly)?|fake|hoax|debunk(s|ed)?|bogus|untrue|myth|dismiss(es|ed)?|rebuff(s|ed)?|retract(s|ed)?|"
    r"disput(e|es|ed)|wrong|misleading|fabricat\w*|nonsense|baseless"
    # Russian: "не", "нет", "ни", "никаких"..., "опроверг(ло)", "отрицает", "отверг", "ложь", "фейк"
    r"|не|нет|ни|никак\w*|никто|ничего|никогда|опроверг\w*|опровер\w*|отрица\w*|отверг\w*|ложн?\w*|фейк\w*)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"\b(allegedly|alleged|reportedly|reported|reports?|claims?|claimed|rumou?rs?|rumou?red|apparently|purportedly|"
    r"supposedly|unconfirmed|unverified|may|might|could|possibly|suggests?|says?|said|according|sources?|believed|"
    r"appears?|seems?|if true)\b",
    re.IGNORECASE,
)
CONFIRMATION = re.compile(r"\b(confirm(s|ed)?|prove[sdn]?|true|indeed|officially)\b", re.IGNORECASE)
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s*(?:k|m|bn|million|billion|thousand|hundred|%|percent"
                     r"|тыс\w*|млн|миллион\w*|млрд|миллиард\w*|процент\w*))?\b", re.IGNORECASE)
_SCALE = {"k": 1e3, "thousand": 1e3, "hundred": 1e2, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9,
          "тыс": 1e3, "млн": 1e6, "миллион": 1e6, "млрд": 1e9, "миллиард": 1e9}
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")
STOP = frozenset(
    "a an the of to in on at for by with from and or but is are was were be been being has have had it its this that "
    "these those as he she they we you i his her their our your not no".split()
)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "dozen": 12, "dozens": 24, "hundreds": 200, "thousands": 2000,
                 # Russian words the cardinal parser does not read: approximate amounts, and the
                 # collective numerals of people ("двое россиян": two Russians)
                 "десятки": 24, "десятков": 24, "сотни": 200, "сотен": 200, "тысячи": 2000,
                 "двое": 2, "двоих": 2, "трое": 3, "троих": 3, "четверо": 4, "четверых": 4, "пятеро": 5,
                 "пятерых": 5, "шестеро": 6, "семеро": 7}
_RU_WORD = re.compile(r"[а-яё]+")
_RU_WORD_SPAN = re.compile(r"[а-яё]+", re.IGNORECASE)
_STARTERS = frozenset(
    "according after although also as before but during even however if in last meanwhile more most new now on "
    "once since so some still then there though today update when while yesterday".split()
)


@lru_cache(maxsize=1)
def _russian_cardinals() -> frozenset[str]:
    """Every form of the Russian cardinal words the number parser reads (ё as е, as it reads them)."""
    from number_parser.parser import LanguageData

    # "семью" is also "family" (accusative), far more often than "by seven"
    return frozenset(LanguageData("ru").all_numbers) - {"семью"}


@lru_cache(maxsize=4096)
def _parse_russian(words: str) -> int | None:
    from number_parser import parse_number

    return parse_number(words, language="ru")


def _russian_word_numbers(text: str) -> set[float]:
    """Cardinals written in Russian words, in any case ("около пятисот", "тридцати тысячам",
    "сто двадцать пять"), read by the number parser: each run of consecutive number words is one
    number. A run right after digits is their scale ("10 тысяч"), which :data:`_NUMBER` reads."""
    vocabulary = _russian_cardinals()
    runs: list[list[re.Match]] = []
    for match in _RU_WORD_SPAN.finditer(text):
        if match.group(0).lower().replace("ё", "е") not in vocabulary:
            continue
        if runs and not text[runs[-1][-1].end():match.start()].strip():
            runs[-1].append(match)
        elif not text[:match.start()].rstrip()[-1:].isdigit():
            runs.append([match])
    found = set()
    for run in runs:
        words = [m.group(0).lower().replace("ё", "е") for m in run]
        value = _parse_russian(" ".join(words))
        if value is not None:
            found.add(float(value))
        else:  # not one number ("два три"): each word for itself
            found |= {float(v) for v in map(_parse_russian, words) if v is not None}
    return found


def numbers(text: str) -> set[float]:
    """Quantities stated in a text, scaled ("19M" and "19 million" are both 19,000,000); in
    Cyrillic text also Russian cardinal words in any case ("около пятисот" is 500)."""
    found = set()
    cyrillic = _RU_WORD.search(text.lower()) is not None
    for match in _NUMBER.finditer(text):
        digits = match.group(1)
        # In Russian "1,5" is one and a half (and "1,500" still groups thousands); English keeps its reading.
        decimal_comma = cyrillic and not _THOUSANDS.fullmatch(digits) and "." not in digits
        digits = digits.replace(",", ".") if decimal_comma else digits.replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        unit = (match.group(2) or "").strip().lower()
        scale = _SCALE.get(unit) or next((v for k, v in _SCALE.items() if len(k) > 2 and unit.startswith(k)), 1.0)
        found.add(value * scale)
    for word in WORD.findall(text.lower()) + _RU_WORD.findall(text.lower()):
        if word in _WORD_NUMBERS:
            found.add(float(_WORD_NUMBERS[word]))
    if cyrillic:
        found |= _russian_word_numbers(text)
    return found


def _is_year(value: float) -> bool:
    return value.is_integer() and 1900 <= value <= 2100


def numbers_conflict(a: str, b: str) -> bool:
    """Both texts state quantities and share none of them ("62 killed" vs "100 killed").

    Years are dates, not the figure a claim is about: they are compared only when neither text
    has any other number ("19 million in 2015" and "24 million in 2015" conflict; "19 million
    in 2015" and "19 million this year" do not)."""
    na, nb = numbers(a), numbers(b)
    qa, qb = {v for v in na if not _is_year(v)}, {v for v in nb if not _is_year(v)}
    if qa or qb:
        return bool(qa and qb and not (qa & qb))
    return bool(na and nb and not (na & nb))


def names(text: str) -> set[str]:
    """Capitalised words that are not common sentence starters: a cheap stand-in for named entities."""
    return {w for w in (m.group(0).lower() for m in _NAME.finditer(text)) if w not in STOP and w not in _STARTERS}


def negated(text: str) -> bool:
    """The text carries a negation or denial cue ("not", "n't", "denies", "hoax"...)."""
    return NEGATION.search(normalize_text(text)) is not None


_ROLE_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d[\d,.]*|[,;:()]")
_BE = frozenset("is are was were be been being get gets got gotten isn't aren't wasn't weren't".split())
# Words between two names that make the relation symmetric ("met", "with", "and"), the names
# parts of one noun phrase ("of", apposition) or the second name a place or a circumstance
# ("beheaded in ISIS video"): no roles are read across them.
_NO_ROLES = frozenset(
    "with and & alongside between vs versus v against meet meets met meeting talk talks talked speak speaks spoke "
    "call calls called marry marries married date dates dated tie ties tied draw draws drew play plays played "
    "face faces faced of , ; : ( ) in on at from for into onto over after before during near inside outside "
    "across through under about than as".split()
)
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december".split()
)
# Longest verb span read between two names ("was reportedly attacked by"), in tokens.
_MAX_ROLE_SPAN = 5


def _stem(word: str) -> str:
    """A suffix stripper that lets "sued" and "sues" meet (Snowball gives "su" and "sue")."""
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _agent_of(tokens: list[str], first: dict[str, int], x: str, y: str, blocked: set[str]):
    """(verbs, agent) of the clause "x VERB y" / "y VERB x" / "y was VERBed by x" in tokens, or None."""
    lo, hi = sorted((first[x], first[y]))
    span = tokens[lo + 1 : hi]
    low = [w.lower() for w in span]
    if not span or len(span) > _MAX_ROLE_SPAN or any(w in _NO_ROLES or w in blocked for w in low):
        return None
    if "by" in low:
        before = low[: low.index("by")]
        # Only "... was attacked by" / "... attacked by" right before the second name reads as passive.
        if low[-1] != "by" or not any(w in _BE or w.endswith(("ed", "en")) for w in before):
            return None
        passive = True
    else:
        passive = False
    verbs = [w for w in span if w.lower() not in STOP and w.lower() not in _BE and not HEDGE.fullmatch(w)]
    if not 1 <= len(verbs) <= 2 or any(w[0].isdigit() for w in verbs):
        return None
    earlier, later = (x, y) if first[x] < first[y] else (y, x)
    # Stem -> written in lower case: in Title Case headlines capitalised nouns pass for names.
    return {_stem(w.lower()): w.islower() for w in verbs}, later if passive else earlier


def _entity_tokens(text: str, known: set[str]) -> list[str]:
    """Tokens (lower-cased, except words that are not names) with possessive 's dropped and each run
    of consecutive ``known`` names joined into one ("united states")."""
    out: list[str] = []
    run: list[str] = []
    for token in (t.removesuffix("'s") for t in _ROLE_TOKEN.findall(text)):
        if token.lower() in known:
            run.append(token.lower())
            continue
        if run:
            out.append(" ".join(run))
            run = []
        out.append(token)
    if run:
        out.append(" ".join(run))
    return out


def roles_swapped(a: str, b: str) -> bool:
    """Both texts relate the same two names through the same verb, with actor and target
    swapped: "Russia attacked Ukraine" vs "Ukraine attacked Russia" (or "Russia was attacked by
    Ukraine"). A pattern over capitalised names (possessive 's dropped), a short verb span and
    "by"-passives, not a parse: it stays silent on anything longer or symmetric ("met", "with",
    "and"), and when the shared verb is capitalised in both texts (Title Case headlines, where
    capitalised nouns pass for names)."""
    a, b = normalize_text(a), normalize_text(b)
    shared = (names(a) & names(b)) - _CALENDAR
    if len(shared) < 2:
        return False
    tokens = [_entity_tokens(a, shared), _entity_tokens(b, shared)]
    entities = sorted({t for t in tokens[0] if " " in t or t in shared} & set(tokens[1]))
    firsts = []
    for toks in tokens:
        first: dict[str, int] = {}
        for i, token in enumerate(toks):
            if token in entities:
                first.setdefault(token, i)
        firsts.append(first)
    blocked = set(entities)
    for i, x in enumerate(entities):
        for y in entities[i + 1 :]:
            found = [_agent_of(toks, first, x, y, blocked) for toks, first in zip(tokens, firsts)]
            if None in found or found[0][1] == found[1][1]:
                continue
            (verbs_a, _), (verbs_b, _) = found
            if any(verbs_a[v] or verbs_b[v] for v in verbs_a.keys() & verbs_b.keys()):
                return True
    return False


@dataclass(frozen=True)
class RuleVerdicts:
    """Each assertion rule's verdict per pair, as boolean arrays of shape (n_pairs,)."""

    figures: np.ndarray
    polarity: np.ndarray
    roles: np.ndarray

    @property
    def any(self) -> np.ndarray:
        """Pairs that break at least one rule: not the same assertion."""
        return self.figures | self.polarity | self.roles

    def items(self) -> list[tuple[str, np.ndarray]]:
        return [("figures", self.figures), ("polarity", self.polarity), ("roles", self.roles)]

    def broken(self, row: int) -> tuple[str, ...]:
        """Names of the rules pair ``row`` breaks."""
        return tuple(name for name, flags in self.items() if flags[row])


def assertion_rules(a: Sequence[str], b: Sequence[str]) -> RuleVerdicts:
    """Verdicts of the three rules on each pair (``a[i]``, ``b[i]``): ``figures``
    (:func:`numbers_conflict`), ``polarity`` (a negation or denial cue on one side only) and
    ``roles`` (:func:`roles_swapped`). ``.any`` is True where the two are not the same assertion.

    >>> assertion_rules(["The strike killed 62 soldiers."], ["The strike killed 100 soldiers."]).any.tolist()
    [True]
    """
    if len(a) != len(b):
        raise InputError(f"assertion_rules needs pairs: {len(a)} first and {len(b)} second texts")
    a, b = [normalize_text(x) for x in a], [normalize_text(y) for y in b]
    return RuleVerdicts(figures=np.array([numbers_conflict(x, y) for x, y in zip(a, b)], dtype=bool),
                        polarity=np.array([negated(x) != negated(y) for x, y in zip(a, b)], dtype=bool),
                        roles=np.array([roles_swapped(x, y) for x, y in zip(a, b)], dtype=bool))
