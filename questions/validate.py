"""The `validate` command of the question bank (the per-card lint is questions/lint.py).

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

import io
import sys
from pathlib import Path
from typing import TextIO

from questions.bank import load_bank
from questions.rubric import check_rubrics, rubrics_dir
from questions.schema import TOPICS


def _report_rubrics(bank, out: TextIO) -> int:  # noqa: ANN001 (questions.bank.Bank)
    """Print the rubric problems (questions/rubrics/, issue 19) and the cards without a rubric;
    return the number of errors (warnings do not count)."""
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
    bank = load_bank(directory)
    if not bank.cards and not bank.problems:  # an empty or wrong folder is not a green bank
        print(f"{bank.directory}: no cards (no card files, or only empty ones)", file=out)
        return 1
    rubric_out = io.StringIO()
    rubric_errors = _report_rubrics(bank, rubric_out)
    if bank.problems or rubric_errors:
        out.write(rubric_out.getvalue())
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
    out.write(rubric_out.getvalue().rstrip("\n") + "\n" if rubric_out.getvalue() else "")
    return 0
