"""`python -m questions search` wall time, start-up included, measured side by side in one run:

* `python -c pass` (the interpreter's own start-up, the floor);
* the CLI with a fresh disk cache (the index is read as JSON: no YAML, pydantic or bm25s),
  for a Chinese query (loads the jieba dictionary) and an English one (does not);
* the CLI with an empty cache dir (parses the bank and builds the BM25 index, then writes it);
* one search in a warm process (ms per query).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZH = "面试官：聊聊你对 Multi-Query Attention 的看法"
EN = "why divide attention scores by sqrt dk"


def _wall(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - t0


def run(quick: bool = False) -> dict:
    n = 3 if quick else 7
    cli = [sys.executable, "-m", "questions", "search"]
    with tempfile.TemporaryDirectory() as warm_dir:
        warm = {**os.environ, "TIL_CACHE_DIR": warm_dir}
        _wall(cli + ["warm-up"], warm)   # writes the cache
        floor, zh, en, cold = [], [], [], []
        for _ in range(n):           # interleaved, so machine load hits every figure alike
            floor.append(_wall([sys.executable, "-c", "pass"], warm))
            zh.append(_wall(cli + [ZH, "--top", "3"], warm))
            en.append(_wall(cli + [EN, "--top", "3"], warm))
            with tempfile.TemporaryDirectory() as empty:
                cold.append(_wall(cli + [ZH, "--top", "3"], {**os.environ, "TIL_CACHE_DIR": empty}))

    from questions.bank import load_bank
    from questions.search import index_of, search

    bank = load_bank()
    index_of(bank)
    t0 = time.perf_counter()
    for _ in range(20):
        search(bank, ZH)
        search(bank, EN)
    per_query_ms = (time.perf_counter() - t0) * 1000 / 40
    med = statistics.median
    return {"python_startup_s": round(med(floor), 3), "search_cli_s": round(med(zh), 3),
            "search_cli_en_s": round(med(en), 3), "search_cli_cold_s": round(med(cold), 3),
            "search_query_ms": round(per_query_ms, 2)}


def rows(result: dict) -> list[tuple[str, str]]:
    flag = "" if result["search_cli_s"] <= 0.5 else "  > 0.5 s target"
    return [("python -c pass", f"{result['python_startup_s']:.3f} s"),
            ("CLI search, zh query (cached index)", f"{result['search_cli_s']:.3f} s{flag}"),
            ("CLI search, en query (cached index)", f"{result['search_cli_en_s']:.3f} s"),
            ("CLI search, empty cache (builds index)", f"{result['search_cli_cold_s']:.3f} s"),
            ("one search in a warm process", f"{result['search_query_ms']:.2f} ms")]
