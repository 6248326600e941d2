"""Print the table drill x known mistake -> the message the grader gives (Markdown).

    python scripts/drill_mistakes_table.py [--lang zh|en] > artifacts/drill_mistakes.md

Grades every fixture in drills/fixtures/<id>/<mistake>.py in this process (drills.grade.grade)
and shows the first failed check that names the mistake (or the first failed check when none does).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drills.grade import grade  # noqa: E402
from drills.registry import all_drills  # noqa: E402


def cell(text: str, limit: int = 260) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lang", choices=("zh", "en"), default="en")
    args = p.parse_args()
    zh = args.lang == "zh"
    print("| drill | known mistake | named? | check | message the learner gets |")
    print("|---|---|---|---|---|")
    for d in all_drills():
        for key in d.mistakes:
            r = grade(d.id, d.fixture(key))
            fails = [c for c in r["checks"] if not c["passed"]]
            named = [c for c in fails if c.get("mistake") == key]
            c = (named or fails or [{"name": "-", "message": "PASSED (not caught!)", "name_zh": "-", "message_zh": "通过"}])[0]
            name = c.get("name_zh") if zh else c["name"]
            msg = c.get("message_zh") if zh else c["message"]
            print(f"| {d.id} | {key} | {'yes' if named else 'NO'} | {cell(name, 80)} | {cell(msg)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
