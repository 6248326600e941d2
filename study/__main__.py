"""The instructor's command line: learners, a learner's own cards, exports (no Streamlit).

    python -m study learners list [--db DB]
    python -m study learners add NAME [--db DB]
    python -m study learners remove NAME [--db DB]          # the learner and all their progress
    python -m study import FILE --learner NAME [--db DB]    # the page's validation; all or nothing
    python -m study imported list|delete --learner NAME [ID ...] [--db DB]
    python -m study export --learner NAME --format csv|apkg|json --out FILE [--db DB]
    python -m study grade --card ID --answer-file F [--lang zh|en|auto] [--json]   # also --batch F.jsonl, --refs
    python -m study grade-eval [--json] [--misses]
    python -m study plan --learner NAME --interview-date YYYY-MM-DD [--retention R] [--max-per-day N] [--today D] [--json]

`--db` is an SQLite file or a `postgresql://` URL, like $TIL_DB (default: $TIL_DB, else
data/progress.sqlite3). Exit codes: 0 done, 1 refused (a rejected file, an unknown learner, a
store fault: the reason on one line), 2 bad arguments. Never a traceback.

Subcommands are registered in `COMMANDS` (name -> (add_arguments, run)); a new one adds an entry.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from study import export
from study.deck import load_cards, with_imported
from study.store import (
    BadName,
    Profile,
    ProgressStore,
    StoreError,
    db_target,
    is_postgres_url,
    masked,
)
from study.stores import open_store


class Refused(Exception):
    """A command that can't be done: its one-line reason, exit code 1."""


# ---------------------------------------------------------------------------------------------
# helpers

def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _open(args: argparse.Namespace, *, create: bool = False) -> ProgressStore:
    """The store of --db (or $TIL_DB). An SQLite file is created only when `create`."""
    target = args.db or db_target()
    if not is_postgres_url(target):
        path = Path(target).expanduser()
        if path.is_dir():
            raise Refused(f"--db {path} is a folder, not a progress file")
        if not create and not path.exists():
            raise Refused(f"no progress file at {path} (create it with: python -m study learners add NAME --db {path})")
        target = str(path)
    try:
        return open_store(target)
    except StoreError as exc:
        raise Refused(f"cannot use the progress store {masked(target)}: {exc.reason}") from None


def _learner(store: ProgressStore, name: str) -> Profile:
    found = store.profile_by_name(name)
    if found is None:
        raise Refused(f"no learner named {name!r} (python -m study learners list)")
    return found


def _write_out(path_text: str, data: bytes) -> Path:
    """Write `data` to the --out file through a temporary file next to it (never half-written)."""
    path = Path(path_text).expanduser()
    if path.is_dir():
        raise Refused(f"--out {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise Refused(f"--out: the folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise Refused(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# ---------------------------------------------------------------------------------------------
# learners

def _learners_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("name", nargs="?", help="the learner's name (add, remove)")


def _learners(args: argparse.Namespace, out: TextIO) -> int:
    if args.action != "list" and not args.name:
        raise Refused(f"learners {args.action} needs a NAME")
    store = _open(args, create=args.action == "add")
    if args.action == "list":
        for p in store.profiles():
            marks = [m for m, on in (("guest", p.guest), ("PIN", p.has_secret)) if on]
            print(p.name + (f"  ({', '.join(marks)})" if marks else ""), file=out)
        return 0
    if args.action == "add":
        try:
            p = store.create_profile(args.name)  # the store's own name rules (NFKC, no controls, unique)
        except BadName as exc:
            raise Refused(f"learner name refused: {exc}") from None
        print(f"added learner {p.name!r}", file=out)
        return 0
    p = _learner(store, args.name)
    store.remove_profile(p.id)
    print(f"removed learner {p.name!r} and all their progress", file=out)
    return 0


# ---------------------------------------------------------------------------------------------
# a learner's own cards

def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a YAML list of cards (the bank's format)")
    p.add_argument("--learner", required=True)


def _import(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.file).expanduser()
    try:
        if path.is_dir():
            raise Refused(f"{path} is a folder, not a YAML file")
        size = path.stat().st_size
        if size > export.MAX_IMPORT_BYTES:  # refused before reading it
            raise Refused(f"{path.name}: rejected: file too large: {size:,} bytes "
                          f"(limit {export.MAX_IMPORT_BYTES:,})")
        with path.open("rb") as f:
            data = f.read(export.MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    store = _open(args)
    me = _learner(store, args.learner)
    try:
        cards = export.parse_import(data, reserved_ids=load_cards().by_id)
    except export.ImportRejected as exc:
        more = f" (and {len(exc.errors) - 5} more)" if len(exc.errors) > 5 else ""
        raise Refused(f"{path.name}: rejected: {'; '.join(exc.errors[:5])}{more}") from None
    store.replace_imported_cards(me.id, cards)
    print(f"imported {len(cards)} card(s) for {me.name!r}", file=out)
    return 0


def _imported_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["list", "delete"])
    p.add_argument("ids", nargs="*", help="card ids to delete (delete with no id: all of them)")
    p.add_argument("--learner", required=True)


def _imported(args: argparse.Namespace, out: TextIO) -> int:
    store = _open(args)
    me = _learner(store, args.learner)
    if args.action == "list":
        for raw in store.imported_cards(me.id):
            q = raw.get("question") or {}
            print(f"{raw.get('id')}  {_one_line(q.get('en', ''))[:70]}", file=out)
        return 0
    n = store.delete_imported_cards(me.id, args.ids or None)
    print(f"deleted {n} imported card(s) of {me.name!r}", file=out)
    return 0


# ---------------------------------------------------------------------------------------------
# export

def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--learner", required=True)
    p.add_argument("--format", required=True, choices=["csv", "apkg", "json"])
    p.add_argument("--out", required=True, help="the file to write")


def _as_json(store: ProgressStore, me: Profile, cards: list) -> bytes:
    imported = {raw.get("id") for raw in store.imported_cards(me.id)}
    states = store.card_states(me.id)
    doc = {
        "learner": me.name,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cards": [dict(c.model_dump(mode="json"), imported=c.id in imported) for c in cards],
        "progress": {qid: {"state": s.state, "due": s.due.isoformat(), "stability": s.stability}
                     for qid, s in sorted(states.items())},
        "reviews": [{"question_id": r.question_id, "rating": r.rating, "reviewed_at": r.reviewed_at.isoformat()}
                    for r in store.reviews(me.id)],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def _export(args: argparse.Namespace, out: TextIO) -> int:
    store = _open(args)
    me = _learner(store, args.learner)
    cards = with_imported(load_cards(), store.imported_cards(me.id)).cards
    if args.format == "csv":
        data = export.to_csv(cards).encode("utf-8-sig")
    elif args.format == "apkg":
        data = export.to_apkg(cards)
    else:
        data = _as_json(store, me, cards)
    path = _write_out(args.out, data)
    print(f"wrote {len(cards)} card(s) of {me.name!r} to {path} ({len(data):,} bytes)", file=out)
    return 0


# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# grading typed answers (issue 19): study/grade_cli.py

def _grade_args(p: argparse.ArgumentParser) -> None:
    from study import grade_cli

    grade_cli.grade_args(p)


def _grade(args: argparse.Namespace, out: TextIO) -> int:
    from study import grade_cli

    try:
        return grade_cli.grade_cmd(args, out)
    except grade_cli.Refused as exc:
        raise Refused(str(exc)) from None


def _grade_eval_args(p: argparse.ArgumentParser) -> None:
    from study import grade_cli

    grade_cli.grade_eval_args(p)


def _grade_eval(args: argparse.Namespace, out: TextIO) -> int:
    from study import grade_cli

    try:
        return grade_cli.grade_eval_cmd(args, out)
    except grade_cli.Refused as exc:
        raise Refused(str(exc)) from None


# ---------------------------------------------------------------------------------------------

# a plan to an interview date (issue 17): study/plan_cli.py

def _plan_args(p: argparse.ArgumentParser) -> None:
    from study import plan_cli

    plan_cli.plan_args(p)


def _plan(args: argparse.Namespace, out: TextIO) -> int:
    from study import plan_cli

    store = _open(args)
    me = _learner(store, args.learner)
    try:
        return plan_cli.plan_cmd(store, me, args, out)
    except plan_cli.Refused as exc:
        raise Refused(str(exc)) from None


# ---------------------------------------------------------------------------------------------

Command = tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace, TextIO], int], str]
COMMANDS: dict[str, Command] = {
    "learners": (_learners_args, _learners, "list, add or remove learners"),
    "import": (_import_args, _import, "import a learner's own YAML cards (all or nothing)"),
    "imported": (_imported_args, _imported, "list or delete a learner's imported cards"),
    "export": (_export_args, _export, "export a learner's deck as CSV, Anki .apkg or JSON (with progress)"),
    "grade": (_grade_args, _grade, "grade a typed answer against its card's rubric (as the pages do)"),
    "grade-eval": (_grade_eval_args, _grade_eval, "rates of the grader on the hand-written evaluation set"),
    "plan": (_plan_args, _plan, "a learner's study plan to an interview date (new cards and reviews per day)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m study", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, (add_args, run, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        add_args(p)
        p.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (default: $TIL_DB)")
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, out)
    except Refused as exc:
        print(f"error: {_one_line(exc)}", file=err)
        return 1
    except StoreError as exc:  # a fault while reading or writing (full disk, server gone...)
        print(f"error: progress store {masked(exc.path)}: {_one_line(exc.reason)}", file=err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
