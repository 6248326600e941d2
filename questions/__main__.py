"""Command line of the question bank.

    python -m questions validate [--dir D]
    python -m questions search "为什么除以根号dk" [--top 3] [--lang zh|en] [--json] [--dir D]
    python -m questions eval [--json] [--file questions/eval/queries.yaml] [--dir D]
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m questions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check every card file; non-zero exit on any problem")
    v.add_argument("--dir", default=None, help="bank directory (default: questions/ or $TIL_QUESTIONS_DIR)")
    s = sub.add_parser("search", help="search the bank with the app's search function")
    s.add_argument("query")
    s.add_argument("--top", type=int, default=10)
    s.add_argument("--lang", choices=["zh", "en"], default=None,
                   help="language of the returned question (default: the query's)")
    s.add_argument("--json", action="store_true", help='print [{"id", "score", "question"}]')
    s.add_argument("--dir", default=None)
    e = sub.add_parser("eval", help="recall@1, recall@3 and MRR of the search on the hand-written query set")
    e.add_argument("--json", action="store_true", help='print {"n", "recall@1", "recall@3", "mrr", "misses", ...}')
    e.add_argument("--file", default=None, help="query set (default: questions/eval/queries.yaml)")
    e.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    if args.dir is not None and not os.path.isdir(args.dir):  # not "no match" / "OK": a usage error
        parser.error(f"--dir {args.dir}: no such folder")

    if args.cmd == "validate":
        from questions.validate import report

        return report(args.dir)  # lessons, which build on the bank, have `python -m lessons validate`

    if args.cmd == "eval":
        return _eval(args)

    from questions.search import load_index, search

    # the same search() as the app, on the index read from the disk cache when the card files
    # have not changed (no YAML parsing, no pydantic): a one-shot command starts fast
    hits = search(load_index(args.dir), args.query, lang=args.lang, top=max(1, args.top))
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))
    else:
        for i, h in enumerate(hits, 1):
            print(f"{i:>2}. {h.score:7.3f}  {h.id}  {h.question}")
        if not hits:
            print("no match")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from questions.bank import load_bank
    from questions.search_eval import evaluate, load_queries

    result = evaluate(load_bank(args.dir), load_queries(args.file))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"n={result['n']}  recall@1={result['recall@1']:.1%}  recall@3={result['recall@3']:.1%}  "
          f"mrr={result['mrr']:.3f}  (skipped {result['skipped']}: missing ids {', '.join(result['missing_ids']) or '-'})")
    for m in result["misses"]:
        print(f"  miss (rank {m['rank'] or '-'}): {m['q']!r} expected {m['expected']} got {m['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
