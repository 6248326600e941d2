"""The drills: data from drills/drills.yaml, reference solutions in drills/refs/<id>.py, known wrong
solutions in drills/fixtures/<id>/<mistake>.py. No Streamlit, no torch import here.

    from drills.registry import all_drills, get
    d = get("sdpa")        # Drill: d.title["en"], d.statement["zh"], d.starter, d.reference, ...
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["Drill", "all_drills", "get", "ids", "DRILLS_DIR", "UnknownDrill"]

DRILLS_DIR = Path(__file__).resolve().parent
LANGS = ("zh", "en")


class UnknownDrill(KeyError):
    """No drill has this id."""


@dataclass(frozen=True)
class Drill:
    id: str
    title: dict[str, str]               # {zh, en}
    statement: dict[str, str]           # {zh, en}, Markdown: what to write, shapes, conventions
    starter: str                        # the editor's first text (signature + docstring)
    signature: str
    entry: str                          # the name the learner's code defines (function or class)
    hints: tuple[dict[str, str], ...]   # 2-3 levels, {zh, en} each
    difficulty: int                     # 1 easy .. 3 hard
    cards: tuple[str, ...]              # related question-bank card ids
    demo: str                           # related demo page id
    mistakes: dict[str, dict[str, str]] = field(default_factory=dict)   # key -> {zh, en}

    @property
    def reference(self) -> str:
        """The reference solution's source."""
        return (DRILLS_DIR / "refs" / f"{self.id}.py").read_text(encoding="utf-8")

    def fixture(self, mistake: str) -> str:
        """The source of a known wrong solution."""
        return (DRILLS_DIR / "fixtures" / self.id / f"{mistake}.py").read_text(encoding="utf-8")


def _bilingual(value, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or any(not isinstance(value.get(lang), str) or not value[lang].strip()
                                          for lang in LANGS):
        raise ValueError(f"{where}: needs non-empty zh and en texts")
    return {lang: value[lang] for lang in LANGS}


def _parse(raw: dict) -> Drill:
    did = raw["id"]
    hints = tuple(_bilingual(h, f"{did}.hints") for h in raw["hints"])
    if not 2 <= len(hints) <= 3:
        raise ValueError(f"{did}: 2-3 hints")
    mistakes = {k: _bilingual(v, f"{did}.mistakes.{k}") for k, v in raw["mistakes"].items()}
    if len(mistakes) < 3:
        raise ValueError(f"{did}: at least 3 known mistakes")
    return Drill(id=did, title=_bilingual(raw["title"], f"{did}.title"),
                 statement=_bilingual(raw["statement"], f"{did}.statement"), starter=raw["starter"],
                 signature=raw["signature"], entry=raw["entry"], hints=hints, difficulty=int(raw["difficulty"]),
                 cards=tuple(raw["cards"]), demo=raw["demo"], mistakes=mistakes)


@functools.cache
def _load() -> dict[str, Drill]:
    data = yaml.safe_load((DRILLS_DIR / "drills.yaml").read_text(encoding="utf-8"))
    drills = [_parse(d) for d in data]
    out = {d.id: d for d in drills}
    if len(out) != len(drills):
        raise ValueError("duplicate drill id in drills.yaml")
    return out


def all_drills() -> list[Drill]:
    """Every drill, in the file's order (easy basics first, LLM-era drills after)."""
    return list(_load().values())


def ids() -> list[str]:
    return list(_load())


def get(drill_id: str) -> Drill:
    try:
        return _load()[drill_id]
    except KeyError:
        raise UnknownDrill(drill_id) from None
