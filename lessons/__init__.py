"""Instructor lessons: one YAML file per lesson under lessons/, loaded and validated (no Streamlit).

A lesson file `lessons/<id>.yaml` (the file stem is the lesson id and its URL value `?lesson=<id>`):

    title: {zh: ..., en: ...}
    summary: {zh: ..., en: ...}        # optional: one line on the lesson list
    minutes: 20                        # optional: planned length
    steps:
      - card: why-scale-by-sqrt-dk     # a card id from questions/*.yaml, or null
        demo: {id: attention, params: {section: scaling, d_k: 64}}   # or null
        talking_point: {zh: ..., en: ...}

Each step has a card and/or a demo state (demo ids, sections and params as for cards:
questions/schema.py DEMOS, DEMO_SECTIONS, DEMO_PARAMS) and a short talking point in both
languages. `load_lessons()` never raises on bad content: it returns the valid lessons and a list
of problems with file and line (unknown card or demo ids and unknown sections are problems).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from questions import safe_yaml
from questions.safe_yaml import locate_line, node_line
from questions.schema import SLUG, Bilingual, DemoLink, validation_reason

PACKAGE_DIR = Path(__file__).resolve().parent
ENV_DIR = "TIL_LESSONS_DIR"
MAX_TALKING_POINT = 400  # characters per language: a talking point is said, not read


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card: str | None = None
    demo: DemoLink | None = None
    talking_point: Bilingual

    @model_validator(mode="after")
    def _has_content(self) -> Step:
        if self.card is None and self.demo is None:
            raise ValueError("a step needs a card, a demo or both")
        return self

    @field_validator("talking_point")
    @classmethod
    def _short(cls, v: Bilingual) -> Bilingual:
        for lang in ("zh", "en"):
            n = len(v.get(lang))
            if n > MAX_TALKING_POINT:
                raise ValueError(f"talking point ({lang}) has {n} characters; keep it under {MAX_TALKING_POINT}")
        return v


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: Bilingual
    summary: Bilingual | None = None
    minutes: int | None = Field(default=None, ge=1, le=240)
    steps: list[Step] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v.replace("_", "-")):
            raise ValueError(f"lesson id {v!r} (the file name) is not a lowercase slug")
        return v

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int     # 1-based; 0 when unknown
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Lessons:
    lessons: dict[str, Lesson] = field(default_factory=dict)   # in file-name order
    problems: list[Problem] = field(default_factory=list)
    directory: Path | None = None

    def __len__(self) -> int:
        return len(self.lessons)

    def __contains__(self, lesson_id: object) -> bool:
        return lesson_id in self.lessons

    def get(self, lesson_id: str | None) -> Lesson | None:
        return self.lessons.get(lesson_id) if lesson_id else None


def default_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else PACKAGE_DIR


def lesson_files(directory: str | Path | None = None) -> list[Path]:
    d = Path(directory) if directory else default_dir()
    return sorted(d.glob("*.yaml"))


def fingerprint(directory: str | Path | None = None) -> tuple:
    """Changes when any lesson file changes: a cache key."""
    d = Path(directory) if directory else default_dir()
    return safe_yaml.files_key(d.resolve(), lesson_files(d))


# ---------------------------------------------------------------------------------------------
# YAML with line numbers

def _load_file(path: Path, known_cards: set[str] | None) -> tuple[Lesson | None, list[Problem]]:
    rel = path.name
    try:
        root = safe_yaml.compose_file(path, name=rel)
        raw = safe_yaml.construct(root) if root is not None else None
    except safe_yaml.YamlError as e:
        return None, [Problem(rel, e.line, e.reason)]
    if root is None or not isinstance(raw, dict):
        return None, [Problem(rel, node_line(root) if root is not None else 1,
                              "a lesson file must be a mapping with title and steps")]
    if "id" in raw:
        return None, [Problem(rel, locate_line(root, ("id",)), "id: unknown field (the file name is the lesson id)")]
    try:
        lesson = Lesson.model_validate({"id": path.stem, **raw})
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err.get("loc", ()))
            problems.append(Problem(rel, 1 if loc[:1] == ("id",) else locate_line(root, loc), validation_reason(err)))
        return None, problems
    problems = []
    if known_cards is not None:
        for i, step in enumerate(lesson.steps):
            if step.card is not None and step.card not in known_cards:
                problems.append(Problem(rel, locate_line(root, ("steps", i, "card")),
                                        f"steps.{i}.card: unknown card id {step.card!r}"))
    for i, step in enumerate(lesson.steps):
        for lang in ("zh", "en"):
            if "TODO" in (step.talking_point.get(lang)):
                problems.append(Problem(rel, locate_line(root, ("steps", i, "talking_point", lang)),
                                        f"steps.{i}.talking_point.{lang}: contains TODO"))
    return (None if problems else lesson), problems


def load_lessons(directory: str | Path | None = None, known_cards: Iterable[str] | None = None) -> Lessons:
    """Load every lesson file; card ids are checked against `known_cards` (default: the bank)."""
    d = Path(directory) if directory else default_dir()
    if not d.is_dir():
        return Lessons({}, [Problem(str(d), 0, "lessons directory not found")], d)
    if known_cards is None:
        from questions.bank import load_bank

        known = set(load_bank().by_id)
    else:
        known = set(known_cards)
    out = Lessons(directory=d)
    for path in lesson_files(d):
        lesson, problems = _load_file(path, known)
        out.problems.extend(problems)
        if lesson is not None:
            out.lessons[lesson.id] = lesson
    out.problems.sort(key=lambda p: (p.file, p.line))
    return out


def report(directory: str | Path | None = None, out=None) -> int:
    """Print the problems (or a summary when green); return the exit code (the validate command)."""
    import sys

    from questions.bank import load_bank

    out = out or sys.stdout
    bank = load_bank()
    result = load_lessons(directory, known_cards=bank.by_id)
    if result.problems:
        for p in result.problems:
            print(str(p), file=out)
        if bank.problems and any("unknown card id" in p.reason for p in result.problems):
            print(f"note: the question bank itself has {len(bank.problems)} problem(s) in "
                  f"{', '.join(bank.failed_files)} (python -m questions validate); "
                  "cards that failed to load count as unknown here.", file=out)
        print(f"\n{len(result.problems)} problem(s); {len(result)} valid lesson(s).", file=out)
        return 1
    print(f"OK: {len(result)} lessons in {result.directory}", file=out)
    for lesson in result.lessons.values():
        print(f"  {lesson.id:<28} {len(lesson):>3} steps  {lesson.title.zh} / {lesson.title.en}", file=out)
    return 0
