"""Load the question bank: every `questions/*.yaml`, validated card by card (no Streamlit).

`load_bank()` never raises on bad content: it returns the valid cards plus a list of
`Problem`s (file, line, reason), so the app starts with whatever is valid and can say which
files failed. Line numbers come from the YAML node tree (each card mapping's start line, or the
line of the offending field when the schema error names one).

The directory is `questions/` next to this file, or `$TIL_QUESTIONS_DIR` when set (tests).
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from yaml.nodes import MappingNode, SequenceNode

from questions import lint as checks
from questions import safe_yaml
from questions.safe_yaml import locate_line, node_line
from questions.schema import SOURCES, TOPICS, Card, validation_reason

PACKAGE_DIR = Path(__file__).resolve().parent
ENV_DIR = "TIL_QUESTIONS_DIR"


def default_dir() -> Path:
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else PACKAGE_DIR


def bank_files(directory: str | Path | None = None) -> list[Path]:
    """The card files of a bank directory (every *.yaml except synonyms.yaml), sorted."""
    d = Path(directory) if directory else default_dir()
    return sorted(p for p in d.glob("*.yaml") if p.name != "synonyms.yaml")


def fingerprint(directory: str | Path | None = None) -> tuple:
    """(dir, (name, mtime, size)...): changes when any card file changes; a cache key."""
    d = Path(directory) if directory else default_dir()
    return safe_yaml.files_key(d.resolve(), bank_files(d))


@dataclass(frozen=True)
class Problem:
    file: str     # file name relative to the bank dir
    line: int     # 1-based; 0 when unknown
    reason: str
    card_id: str | None = None

    def __str__(self) -> str:
        # one line per problem: control characters / line breaks from the YAML are escaped
        text = f"{self.file}:{self.line}: {self.reason}"
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(frozen=True)
class Origin:
    file: str
    line: int            # the card's first line (its `- id:` line)
    related_line: int = 0  # the line of its `related:` field, when present


@dataclass
class Bank:
    cards: list[Card]
    problems: list[Problem] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    directory: Path | None = None
    by_id: dict[str, Card] = field(init=False)
    _index: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {c.id: c for c in self.cards}

    def __len__(self) -> int:
        return len(self.cards)

    def __contains__(self, card_id: object) -> bool:
        return card_id in self.by_id

    def get(self, card_id: str) -> Card | None:
        return self.by_id.get(card_id)

    @property
    def failed_files(self) -> list[str]:
        """Files with at least one problem, in order."""
        return sorted({p.file for p in self.problems})

    def filter(self, topic: str | Iterable[str] | None = None, difficulty: int | Iterable[int] | None = None,
               source: str | Iterable[str] | None = None) -> list[Card]:
        """Cards matching every given filter (a value or a collection of values; None = any)."""
        def as_set(v: Any) -> set | None:
            if v is None:
                return None
            if isinstance(v, str | int):
                return {v}
            return set(v)

        topics, diffs, sources = as_set(topic), as_set(difficulty), as_set(source)
        return [c for c in self.cards
                if (topics is None or c.topic in topics)
                and (diffs is None or c.difficulty in diffs)
                and (sources is None or c.source in sources)]

    def by_topic(self, topic: str) -> list[Card]:
        return self.filter(topic=topic)

    def by_difficulty(self, difficulty: int) -> list[Card]:
        return self.filter(difficulty=difficulty)

    def by_source(self, source: str) -> list[Card]:
        return self.filter(source=source)

    def for_demo(self, demo_id: str) -> list[Card]:
        """Cards whose `demo.id` is `demo_id`, in bank order."""
        return [c for c in self.cards if c.demo is not None and c.demo.id == demo_id]

    def topic_counts(self) -> dict[str, int]:
        """Cards per topic, in TOPICS order (topics without cards included, as 0)."""
        counts = Counter(c.topic for c in self.cards)
        return {t: counts.get(t, 0) for t in TOPICS}

    def source_counts(self) -> dict[str, int]:
        counts = Counter(c.source for c in self.cards)
        return {s: counts.get(s, 0) for s in SOURCES}


# ---------------------------------------------------------------------------------------------
# YAML with line numbers (questions/safe_yaml.py: no anchors/aliases, size/depth/node caps)

def _load_file(path: Path, rel: str) -> tuple[list[tuple[Card, Origin]], list[Problem]]:
    """Cards of one file with their start lines, and the file's problems."""
    problems: list[Problem] = []
    try:
        root = safe_yaml.compose_file(path, name=rel)
    except safe_yaml.YamlError as e:
        return [], [Problem(rel, e.line, e.reason)]
    if root is None:
        return [], []  # an empty file is an empty topic
    if not isinstance(root, SequenceNode):
        return [], [Problem(rel, node_line(root), "the file must be a YAML list of cards (- id: ...)")]
    out: list[tuple[Card, Origin]] = []
    for item in root.value:
        line = node_line(item)
        if not isinstance(item, MappingNode):
            problems.append(Problem(rel, line, "a list item is not a card (expected a mapping)"))
            continue
        try:
            raw = safe_yaml.construct(item)
        except safe_yaml.YamlError as e:
            problems.append(Problem(rel, e.line or line, e.reason))
            continue
        card_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        try:
            card = Card.model_validate(raw)
        except ValidationError as e:
            who = f"card {card_id!r}" if card_id else "card"
            for err in e.errors():
                problems.append(Problem(rel, locate_line(item, tuple(err.get("loc", ()))),
                                        validation_reason(err, who), card_id))
            continue
        extra = checks.lint_card(raw)
        if extra:
            for loc, msg in extra:
                problems.append(Problem(rel, locate_line(item, loc), f"card {card.id!r}: {'.'.join(map(str, loc))}: {msg}",
                                        card.id))
            continue
        out.append((card, Origin(rel, line, locate_line(item, ("related",)) if card.related else line)))
    return out, problems


def load_bank(dir: str | Path | None = None) -> Bank:  # noqa: A002 (the issue's name)
    """Load and validate every card file of `dir` (default: questions/ or $TIL_QUESTIONS_DIR)."""
    directory = Path(dir) if dir else default_dir()
    problems: list[Problem] = []
    cards: list[Card] = []
    origins: dict[str, Origin] = {}
    if not directory.is_dir():
        return Bank([], [Problem(str(directory), 0, "question directory not found")], {}, directory)
    for path in bank_files(directory):
        rel = path.name
        file_cards, file_problems = _load_file(path, rel)
        problems.extend(file_problems)
        for card, origin in file_cards:
            if card.id in origins:
                first = origins[card.id]
                problems.append(Problem(rel, origin.line, f"duplicate id {card.id!r} (first defined at "
                                                          f"{first.file}:{first.line})", card.id))
                continue
            origins[card.id] = origin
            cards.append(card)
    known = {c.id for c in cards}
    for card in cards:
        for rid in card.related:
            if rid not in known:
                o = origins[card.id]
                problems.append(Problem(o.file, o.related_line, f"card {card.id!r}: related id {rid!r} does not exist",
                                        card.id))
    problems.sort(key=lambda p: (p.file, p.line))
    return Bank(cards, problems, origins, directory)
