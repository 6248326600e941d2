"""Rubrics of the cards (issue 19): the key points a good answer makes and the common
misconceptions, one file per topic under `questions/rubrics/<topic>.yaml` (no Streamlit).

    - card: why-scale-by-sqrt-dk
      points:
        - id: variance-grows
          text: {zh: ..., en: ...}                 # the claim, shown as a checkbox
          match: {zh: ["方差 + dk"], en: ["variance + dk|dimension"]}
      misconceptions:
        - id: divide-by-dk
          claim: {zh: ..., en: ...}
          match: {zh: [...], en: [...]}
          correction: {zh: ..., en: ...}

A pattern is terms joined by ` + ` (all in one clause), each term alternatives joined by `|`.
The matching itself (clauses, negation, normalisation) is `study/grade.py`; the format and its
rules are written down for rubric writers in docs/RUBRICS.md.

`load_rubrics()` reads every file through the safe YAML loader and returns `{card_id: Rubric}`;
`check_rubrics(bank)` returns the problems as `file:line: reason` (unknown card ids, a card in the
wrong topic file, duplicate cards or point ids, empty patterns or terms, missing misconceptions
on cards of difficulty >= 2) and the cards without a rubric (a warning while some topic file is
still missing, an error once every topic has its file).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from yaml.nodes import MappingNode, SequenceNode

from questions import safe_yaml
from questions.safe_yaml import locate_line, node_line
from questions.schema import TOPICS, Bilingual, check_slug, validation_reason

RUBRICS_SUBDIR = "rubrics"
MAX_PATTERN = 400
_STRICT = ConfigDict(extra="forbid", strict=True)


def split_pattern(pattern: str) -> list[list[str]]:
    """`"a|b + c"` -> `[["a", "b"], ["c"]]` (stripped; empty pieces kept so they can be reported)."""
    return [[alt.strip() for alt in term.split("|")] for term in pattern.split(" + ")]


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern string is unusable, or None."""
    if not pattern.strip():
        return "empty pattern"
    if len(pattern) > MAX_PATTERN:
        return f"pattern longer than {MAX_PATTERN} characters"
    for term in split_pattern(pattern):
        if not any(term):
            return f"pattern {pattern!r} has an empty term (check ' + ' and '|')"
        if not all(term):
            return f"pattern {pattern!r} has an empty alternative (check '|')"
    return None


class Patterns(BaseModel):
    model_config = _STRICT
    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _usable(self) -> Patterns:
        if not self.zh and not self.en:
            raise ValueError("no patterns (give zh and/or en)")
        for lang in ("zh", "en"):
            for pattern in getattr(self, lang):
                problem = pattern_problem(pattern)
                if problem:
                    raise ValueError(f"{lang}: {problem}")
        return self

    def all(self) -> list[str]:
        return [*self.zh, *self.en]


class Point(BaseModel):
    model_config = _STRICT
    id: str
    text: Bilingual
    match: Patterns
    _slug = field_validator("id")(check_slug)


class Misconception(BaseModel):
    model_config = _STRICT
    id: str
    claim: Bilingual
    match: Patterns
    correction: Bilingual
    _slug = field_validator("id")(check_slug)


class Rubric(BaseModel):
    model_config = _STRICT
    card: str
    points: list[Point] = Field(min_length=1, max_length=8)
    misconceptions: list[Misconception] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        seen: set[str] = set()
        for item in [*self.points, *self.misconceptions]:
            if item.id in seen:
                raise ValueError(f"duplicate point/misconception id {item.id!r}")
            seen.add(item.id)
        return self


@dataclass(frozen=True)
class RubricProblem:
    file: str
    line: int
    reason: str
    card_id: str | None = None
    warning: bool = False

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {'warning: ' if self.warning else ''}{self.reason}"
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass
class RubricSet:
    rubrics: dict[str, Rubric] = field(default_factory=dict)
    problems: list[RubricProblem] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)     # card id -> topic of the file it is in
    lines: dict[str, tuple[str, int]] = field(default_factory=dict)  # card id -> (file, line)


def rubrics_dir(bank_dir: str | Path | None = None) -> Path:
    from questions.bank import default_dir

    return Path(bank_dir or default_dir()) / RUBRICS_SUBDIR


def rubric_files(directory: str | Path | None = None) -> list[Path]:
    d = Path(directory) if directory else rubrics_dir()
    return sorted(d.glob("*.yaml")) if d.is_dir() else []


def fingerprint(directory: str | Path | None = None) -> tuple:
    """Changes when any rubric file changes (a cache key)."""
    return safe_yaml.files_key(directory or rubrics_dir(), rubric_files(directory))


def read_rubrics(directory: str | Path | None = None) -> RubricSet:
    """Every rubric file of `directory` (default questions/rubrics/ of the bank), validated entry by
    entry: the valid rubrics and the problems of the others (file:line)."""
    out = RubricSet()
    for path in rubric_files(directory):
        rel = f"{RUBRICS_SUBDIR}/{path.name}"
        topic = path.stem
        if topic not in TOPICS:
            out.problems.append(RubricProblem(rel, 0, f"unknown topic file (known: {', '.join(TOPICS)})"))
            continue
        try:
            root = safe_yaml.compose_file(path, name=rel)
        except safe_yaml.YamlError as e:
            out.problems.append(RubricProblem(rel, e.line, e.reason))
            continue
        if root is None:
            continue
        if not isinstance(root, SequenceNode):
            out.problems.append(RubricProblem(rel, node_line(root), "the file must be a YAML list (- card: ...)"))
            continue
        for item in root.value:
            line = node_line(item)
            if not isinstance(item, MappingNode):
                out.problems.append(RubricProblem(rel, line, "a list item is not a rubric (expected a mapping)"))
                continue
            try:
                raw = safe_yaml.construct(item)
            except safe_yaml.YamlError as e:
                out.problems.append(RubricProblem(rel, e.line or line, e.reason))
                continue
            card_id = raw.get("card") if isinstance(raw.get("card"), str) else None
            try:
                rubric = Rubric.model_validate(raw)
            except ValidationError as e:
                who = f"rubric {card_id!r}" if card_id else "rubric"
                for err in e.errors():
                    out.problems.append(RubricProblem(rel, locate_line(item, tuple(err.get("loc", ()))),
                                                      validation_reason(err, who), card_id))
                continue
            if rubric.card in out.rubrics:
                first = out.lines[rubric.card]
                out.problems.append(RubricProblem(rel, line, f"duplicate rubric for {rubric.card!r} (first at "
                                                             f"{first[0]}:{first[1]})", rubric.card))
                continue
            out.rubrics[rubric.card] = rubric
            out.topics[rubric.card] = topic
            out.lines[rubric.card] = (rel, line)
    return out


def check_rubrics(bank, directory: str | Path | None = None) -> RubricSet:  # noqa: ANN001 (questions.bank.Bank)
    """`read_rubrics` plus the checks against the bank: unknown card ids, a rubric in another
    topic's file, no misconception on a card of difficulty >= 2, cards without a rubric."""
    rs = read_rubrics(directory if directory is not None else rubrics_dir(bank.directory))
    for card_id in list(rs.rubrics):
        file, line = rs.lines[card_id]
        card = bank.get(card_id)
        if card is None:
            rs.problems.append(RubricProblem(file, line, f"rubric for an unknown card id {card_id!r}", card_id))
            del rs.rubrics[card_id]
            continue
        if rs.topics[card_id] != card.topic:
            rs.problems.append(RubricProblem(file, line, f"card {card_id!r} is in topic {card.topic!r}: move its rubric "
                                                         f"to rubrics/{card.topic}.yaml", card_id))
        if card.difficulty >= 2 and not rs.rubrics[card_id].misconceptions:
            rs.problems.append(RubricProblem(file, line, f"card {card_id!r} (difficulty {card.difficulty}) needs at "
                                                         "least one misconception", card_id))
    present = {p.stem for p in rubric_files(directory if directory is not None else rubrics_dir(bank.directory))}
    topics_with_cards = {c.topic for c in bank.cards}
    complete = bool(present) and topics_with_cards <= present
    for card in bank.cards:
        if card.id not in rs.rubrics and not any(p.card_id == card.id for p in rs.problems):
            origin = bank.origins.get(card.id)
            rs.problems.append(RubricProblem(origin.file if origin else card.topic, origin.line if origin else 0,
                                             f"card {card.id!r} has no rubric (rubrics/{card.topic}.yaml)",
                                             card.id, warning=not complete))
    rs.problems.sort(key=lambda p: (p.warning, p.file, p.line))
    return rs


def load_rubrics(directory: str | Path | None = None) -> dict[str, Rubric]:
    """`{card_id: Rubric}` of every valid rubric (problems are left to `check_rubrics`)."""
    env_dir = os.environ.get("TIL_RUBRICS_DIR")
    return read_rubrics(directory or env_dir or None).rubrics


__all__ = ["Misconception", "Patterns", "Point", "Rubric", "RubricProblem", "RubricSet", "check_rubrics",
           "fingerprint", "load_rubrics", "pattern_problem", "read_rubrics", "rubric_files", "rubrics_dir",
           "split_pattern"]
