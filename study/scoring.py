"""Score a typed answer against a card's keyword groups (plain Python).

A keyword group is a list of synonymous phrasings; the group is *hit* when any phrasing appears
in the answer. Both sides are normalised (NFKC, casefold, whitespace collapsed, hyphens and
underscores read as spaces). A phrasing appears when it is a substring of the answer, or, for
phrasings of at least `FUZZY_MIN_LEN` characters, when rapidfuzz's partial ratio reaches
`FUZZY_THRESHOLD` (tolerates small typos such as "layernrom"). Short Latin phrasings ("LN",
"PE") must appear as whole words, so "pen" does not count as "PE".

Suggested rating (the notes' own rule: covering 80% of the points is enough):
  coverage >= 80%  -> Good
  coverage >= 50%  -> Hard
  otherwise        -> Again
Easy is never suggested: it means "effortless", which only the learner can tell.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

GOOD_AT = 0.8
HARD_AT = 0.5
FUZZY_THRESHOLD = 85
FUZZY_MIN_LEN = 5
MAX_CHARS = 20_000

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4  # fsrs.Rating values


@dataclass(frozen=True)
class Score:
    hit: list[list[str]]          # groups hit (each a list of phrasings)
    missed: list[list[str]]       # groups missed
    coverage: float               # share of groups hit, 0..1
    suggested_rating: int         # fsrs Rating value (1 Again .. 4 Easy)
    matched: list[str] | None = None  # for each hit group, the phrasing that matched

    @property
    def percent(self) -> int:
        return round(100 * self.coverage)


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = re.sub(r"[-_‐‑–—/]", " ", text)
    return " ".join(text.split())


def _is_latin_word(phrase: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9 =.+*]+", phrase))


def phrase_in(phrase: str, answer: str) -> bool:
    """Whether a normalised phrasing appears in a normalised answer."""
    if not phrase:
        return False
    if len(phrase) < FUZZY_MIN_LEN or not phrase.isascii():
        if _is_latin_word(phrase) and len(phrase) <= 3:
            return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", answer) is not None
        return phrase in answer
    if phrase in answer:
        return True
    return fuzz.partial_ratio(phrase, answer) >= FUZZY_THRESHOLD


def suggest(coverage: float) -> int:
    if coverage >= GOOD_AT:
        return GOOD
    if coverage >= HARD_AT:
        return HARD
    return AGAIN


def score_answer(text: str, keyword_groups: Sequence[Sequence[str]]) -> Score:
    """Which keyword groups the answer covers, the coverage and the suggested rating."""
    answer = normalize((text or "")[:MAX_CHARS])
    hit: list[list[str]] = []
    missed: list[list[str]] = []
    matched: list[str] = []
    for group in keyword_groups:
        phrasings = [str(p) for p in group]
        found = next((p for p in phrasings if answer and phrase_in(normalize(p), answer)), None)
        if found is None:
            missed.append(phrasings)
        else:
            hit.append(phrasings)
            matched.append(found)
    total = len(hit) + len(missed)
    coverage = len(hit) / total if total else 0.0
    return Score(hit, missed, coverage, suggest(coverage), matched)
