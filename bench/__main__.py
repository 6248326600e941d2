"""`python -m bench [--json] [--quick] [--only NAME ...]`: print the project's speed figures.

Each module in SUITES has `run(quick) -> dict` and `rows(result) -> list[(label, value)]`.
With --json the last line printed is one JSON object merging every suite's keys.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time

SUITES = ("bench.model_bench", "bench.pages_bench", "bench.train_bench", "bench.decode_bench",
          "bench.drill_bench", "bench.search_bench", "bench.cold_start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    ap.add_argument("--only", nargs="*", default=None, help="suite names, e.g. model_bench pages_bench")
    args = ap.parse_args(argv)

    merged: dict = {}
    for name in SUITES:
        short = name.rsplit(".", 1)[-1]
        if args.only and short not in args.only:
            continue
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        t0 = time.perf_counter()
        print(f"## {short} …", file=sys.stderr, flush=True)
        result = mod.run(quick=args.quick)
        merged.update(result)
        rows = mod.rows(result)
        width = max((len(label) for label, _ in rows), default=10)
        print(f"\n{short}  ({time.perf_counter() - t0:.1f} s)")
        print("-" * (width + 24))
        for label, value in rows:
            print(f"{label:<{width}}  {value}")
    if args.json:
        print(json.dumps(merged, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
