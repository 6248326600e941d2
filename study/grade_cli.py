"""`python -m study grade` and `python -m study grade-eval` (issue 19): the pages' grader on the
command line (no Streamlit).

    python -m study grade --card ID --answer-file F [--lang zh|en|auto] [--json]
    python -m study grade --batch FILE.jsonl [--json]        # lines {"card", "answer", "lang"}
    python -m study grade --refs [--topic T] [--card ID]     # every card's own reference answers
    python -m study grade-eval [--json] [--file study/eval/answers.jsonl] [--old]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from study import grade as G

MAX_ANSWER_BYTES = 200_000


class Refused(Exception):
    """A bad argument or input file: its one-line reason, exit code 1."""


def _bank():
    from study.deck import load_cards

    return load_cards()


def _read_text(path_text: str) -> str:
    path = Path(path_text).expanduser()
    try:
        if path.is_dir():
            raise Refused(f"{path} is a folder, not a text file")
        with path.open("rb") as f:
            data = f.read(MAX_ANSWER_BYTES + 1)
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ANSWER_BYTES:
        raise Refused(f"{path.name}: larger than {MAX_ANSWER_BYTES:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(f"{path.name}: not UTF-8 text (byte {exc.start})") from None


def _human(card_id: str, v: G.Verdict) -> str:
    lines = [f"{card_id}: {v.verdict}" + ("  (keyword list)" if v.keyword_list else "")
             + ("  (no rubric)" if not v.has_rubric else "")]
    lines += [f"  [{'x' if p['hit'] else ' '}] {p['id']}: {p['text']}" for p in v.points]
    lines += [f"  ! {m['id']}: {m['message']}" for m in v.misconceptions]
    return "\n".join(lines)


def grade_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", help="card id")
    p.add_argument("--answer-file", help="the answer, a UTF-8 text file")
    p.add_argument("--batch", help='a JSON-lines file of {"card", "answer", "lang"}')
    p.add_argument("--refs", action="store_true", help="grade every card's own reference answers (zh and en)")
    p.add_argument("--topic", help="with --refs: only this topic")
    p.add_argument("--lang", choices=["zh", "en", "auto"], default="auto")
    p.add_argument("--json", action="store_true")


def _refs(args: argparse.Namespace, out: TextIO) -> int:
    bank = _bank()
    rubrics = G.compiled_rubrics()
    cards = [c for c in bank.cards if c.id in rubrics and (not args.topic or c.topic == args.topic)
             and (not args.card or c.id == args.card)]
    bad = 0
    for card in cards:
        for lang in ("zh", "en"):
            v = G.grade(card, card.answer.get(lang), lang)
            if v.verdict != "good":
                bad += 1
                print(f"FAIL {card.id} [{lang}] {v.verdict}: missed {', '.join(v.missing) or '-'}; "
                      f"misconceptions {', '.join(m['id'] for m in v.misconceptions) or '-'}", file=out)
    print(f"{'OK' if not bad else 'FAILED'}: {len(cards)} card(s) with a rubric, {bad} reference answer(s) "
          "not judged good", file=out)
    return 1 if bad else 0


def grade_cmd(args: argparse.Namespace, out: TextIO) -> int:
    if args.refs:
        return _refs(args, out)
    if args.batch:
        bank = _bank()
        text = _read_text(args.batch) if Path(args.batch).stat().st_size <= MAX_ANSWER_BYTES * 50 else ""
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                card_id, answer = str(row["card"]), str(row.get("answer", ""))
                lang = row.get("lang") or args.lang
            except (ValueError, KeyError, TypeError):
                raise Refused(f"{args.batch}:{n}: not a JSON object with \"card\" and \"answer\"") from None
            if card_id not in bank.by_id:
                raise Refused(f"{args.batch}:{n}: unknown card id {card_id!r}")
            v = G.grade(bank.by_id[card_id], answer, lang if lang in ("zh", "en") else "auto")
            print(json.dumps(v.as_json(), ensure_ascii=False) if args.json else _human(card_id, v), file=out)
        return 0
    if not args.card or not args.answer_file:
        raise Refused("give --card ID --answer-file F, or --batch FILE.jsonl, or --refs")
    bank = _bank()
    card = bank.by_id.get(args.card)
    if card is None:
        raise Refused(f"unknown card id {args.card!r}")
    v = G.grade(card, _read_text(args.answer_file), args.lang)
    print(json.dumps(v.as_json(), ensure_ascii=False) if args.json else _human(card.id, v), file=out)
    return 0


def grade_eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", default=None, help="evaluation set (default: study/eval/answers.jsonl)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--misses", action="store_true", help="list the answers judged against their label")


def grade_eval_cmd(args: argparse.Namespace, out: TextIO) -> int:
    from study.grade_eval import evaluate, format_table

    result = evaluate(args.file)
    if args.json:
        doc = {k: v for k, v in result.items() if args.misses or k != "misses"}
        print(json.dumps(doc, ensure_ascii=False, indent=1), file=out)
    else:
        print(format_table(result, misses=args.misses), file=out)
    return 0
