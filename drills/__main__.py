"""Command line for the drills, so a learner can work in their own editor.

    python -m drills list [--json]
    python -m drills show ID [--json] [--lang zh|en]
    python -m drills check ID FILE [--json] [--lang zh|en]     # graded through drills.sandbox
    python -m drills check ID --reference [--json]

Exit status of check: 0 passed, 1 failed, 2 bad usage (unknown id, missing file: argparse's
error, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from drills.registry import UnknownDrill, all_drills, get, ids

MAX_FILE_BYTES = 200_000


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _public(result: dict) -> dict:
    """The CLI's JSON: {"id", "passed", "checks": [{"name", "passed", "message"} + zh], "ms"}."""
    return {"id": result.get("id"), "passed": bool(result.get("passed")),
            "checks": [{"name": c.get("name", ""), "passed": bool(c.get("passed")), "message": c.get("message", ""),
                        "name_zh": c.get("name_zh", ""), "message_zh": c.get("message_zh", ""),
                        **({"mistake": c["mistake"]} if c.get("mistake") else {})}
                       for c in result.get("checks", [])],
            "ms": result.get("ms")}


def checklist(result: dict, lang: str = "en") -> str:
    """A readable checklist: ✓/✗ name — message."""
    zh = lang == "zh"
    lines = []
    for c in result["checks"]:
        mark = "✓" if c["passed"] else "✗"
        name = c.get("name_zh") if zh and c.get("name_zh") else c["name"]
        msg = c.get("message_zh") if zh and c.get("message_zh") else c["message"]
        lines.append(f"{mark} {name}" + ("" if c["passed"] and msg in ("ok", "通过") else f"\n    {msg}"))
    n_ok = sum(c["passed"] for c in result["checks"])
    verdict = ("通过" if result["passed"] else "未通过") if zh else ("PASSED" if result["passed"] else "FAILED")
    lines.append(f"\n{verdict}: {n_ok}/{len(result['checks'])} checks, {result.get('ms', 0):.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m drills", description="Hand-write-it Transformer drills (手撕代码).")
    sub = p.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="every drill: id, title, difficulty")
    p_list.add_argument("--json", action="store_true")
    p_show = sub.add_parser("show", help="a drill's statement, signature and starter code")
    p_show.add_argument("id")
    p_show.add_argument("--json", action="store_true")
    p_show.add_argument("--lang", choices=("zh", "en"), default="en")
    p_check = sub.add_parser("check", help="grade a solution file (in the sandbox)")
    p_check.add_argument("id")
    p_check.add_argument("file", nargs="?", help="your solution, a .py file")
    p_check.add_argument("--reference", action="store_true", help="grade our reference solution instead")
    p_check.add_argument("--json", action="store_true")
    p_check.add_argument("--lang", choices=("zh", "en"), default="en")
    p_check.add_argument("--timeout", type=float, default=None, help="wall-clock limit in seconds")
    args = p.parse_args(argv)

    if args.cmd == "list":
        rows = [{"id": d.id, "title": dict(d.title), "difficulty": d.difficulty} for d in all_drills()]
        if args.json:
            _print_json(rows)
        else:
            for r in rows:
                print(f"{r['id']:16s} {'★' * r['difficulty']:3s} {r['title']['en']} / {r['title']['zh']}")
        return 0

    try:
        drill = get(args.id)
    except UnknownDrill:
        p.error(f"unknown drill {args.id!r}; choose one of: {', '.join(ids())}")

    if args.cmd == "show":
        if args.json:
            _print_json({"id": drill.id, "signature": drill.signature, "starter": drill.starter,
                         "statement": dict(drill.statement), "title": dict(drill.title),
                         "difficulty": drill.difficulty})
        else:
            print(f"# {drill.title[args.lang]}\n\n{drill.statement[args.lang]}\n{drill.signature}\n\n{drill.starter}")
        return 0

    # check
    if args.reference == bool(args.file):
        p.error("check needs exactly one of FILE or --reference")
    if args.reference:
        source = drill.reference
    else:
        path = Path(args.file)
        if not path.is_file():
            p.error(f"no such file: {args.file}")
        if path.stat().st_size > MAX_FILE_BYTES:
            p.error(f"{args.file} is larger than {MAX_FILE_BYTES // 1000} kB")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            p.error(f"cannot read {args.file}: {exc}")
    from drills import sandbox
    result = sandbox.check(drill.id, source, timeout_s=args.timeout)
    if args.json:
        _print_json(_public(result))
    else:
        print(checklist(result, args.lang))
    return 0 if result.get("passed") else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:                 # output piped into `head` etc.
        sys.stderr.close()
        sys.exit(0)
