"""Checks of one card beyond the pydantic schema (used by the bank loader and the card import):
empty aliases or keywords, unbalanced `$`, TODO anywhere, a card related to itself."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from questions.schema import _balanced_dollars

Loc = tuple[str | int, ...]


def _strings(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*loc, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*loc, i))


def lint_card(raw: dict) -> list[tuple[Loc, str]]:
    """Problems the schema lets through, as (location, message); [] when clean.

    Runs on a card that already passed the schema: TODO anywhere (aliases, keywords, params…),
    unbalanced `$` in aliases, empty alias phrases, a card listing itself as related.
    """
    out: list[tuple[Loc, str]] = []
    for loc, text in _strings(raw):
        if "TODO" in text:
            out.append((loc, "contains TODO"))
    aliases = raw.get("aliases") or {}
    for lang in ("zh", "en"):
        for i, text in enumerate(aliases.get(lang) or []):
            loc = ("aliases", lang, i)
            if not str(text).strip():
                out.append((loc, "empty alias"))
            elif not _balanced_dollars(str(text)):
                out.append((loc, "unbalanced $ (LaTeX delimiters)"))
    if raw.get("id") in (raw.get("related") or []):
        out.append((("related",), "a card cannot be related to itself"))
    return out
