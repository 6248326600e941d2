"""Checks of the question bank beyond the pydantic schema, and the `validate` command.

`python -m questions validate [--dir D]` loads the bank (questions/bank.py), prints one line per
problem as `file:line: reason` and exits 1 when there is any; when green it prints the number of
cards per topic and exits 0.

What is caught (schema + the lint below + cross-card checks in bank.py): YAML syntax errors,
a file that is not a list of cards, missing or unknown fields, bad slug, unknown topic, source,
demo id, demo section or demo param, difficulty out of 1..3, an empty language, unbalanced `$`,
TODO anywhere in a card, empty aliases/keywords, duplicate ids (across files) and related ids
that do not exist.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from questions.schema import TOPICS, _balanced_dollars

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


def _report_rubrics(bank, out: TextIO) -> int:  # noqa: ANN001 (questions.bank.Bank)
    """Print the rubric problems (questions/rubrics/, issue 19) and the cards without a rubric;
    return the number of errors (warnings do not count)."""
    from questions.rubric import check_rubrics, rubrics_dir

    if not rubrics_dir(bank.directory).is_dir():
        return 0
    rs = check_rubrics(bank)
    errors = [p for p in rs.problems if not p.warning]
    for p in errors:
        print(str(p), file=out)
    missing = [p for p in rs.problems if p.warning]
    if len(missing) > 12:  # one line per card is noise while topic files are still being written
        print(f"warning: {len(missing)} card(s) have no rubric yet, e.g. {', '.join(str(p.card_id) for p in missing[:5])}",
              file=out)
    else:
        for p in missing:
            print(str(p), file=out)
    print(f"rubrics: {len(rs.rubrics)} card(s); {len(errors)} problem(s)\n", file=out)
    return len(errors)


def report(directory: str | Path | None = None, out: TextIO = sys.stdout) -> int:
    """Print the problems (or the summary when green); return the exit code."""
    from questions.bank import load_bank

    bank = load_bank(directory)
    if not bank.cards and not bank.problems:  # an empty or wrong folder is not a green bank
        print(f"{bank.directory}: no cards (no card files, or only empty ones)", file=out)
        return 1
    rubric_errors = _report_rubrics(bank, out)
    if bank.problems:
        for p in bank.problems:
            print(str(p), file=out)
        files = len(bank.failed_files)
        print(f"\n{len(bank.problems)} problem(s) in {files} file(s); {len(bank.cards)} valid card(s).",
              file=out)
        return 1
    if rubric_errors:
        return 1
    counts = bank.topic_counts()
    width = max(len(t) for t in TOPICS)
    print(f"OK: {len(bank.cards)} cards in {bank.directory}", file=out)
    for topic, n in counts.items():
        print(f"  {topic:<{width}}  {n:>3}  {TOPICS[topic][0]}", file=out)
    return 0
