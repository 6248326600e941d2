"""Evaluate the bank search on a hand-written query set (questions/eval/queries.yaml).

    evaluate(bank, load_queries()) -> {"n", "recall@1", "recall@3", "mrr", "misses", ...}

Each query is labelled with the card ids that answer it; a query is a hit at k when any of them
is among the first k results of `questions.search.search`. MRR uses the rank of the first
acceptable card within the top `depth` results (0 when none). Ids that are not in the bank are
reported under "missing_ids"; a query whose ids are all missing is skipped (counted in "skipped").
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QUERIES_FILE = Path(__file__).with_name("eval") / "queries.yaml"
DEPTH = 10


@dataclass(frozen=True)
class Query:
    q: str
    ids: tuple[str, ...]


def load_queries(path: str | Path | None = None) -> list[Query]:
    from questions import safe_yaml

    data = safe_yaml.load_file(path or QUERIES_FILE) or []
    return [Query(str(item["q"]), tuple(str(i) for i in item["ids"])) for item in data]


def evaluate(bank, queries: list[Query], depth: int = DEPTH) -> dict:
    from questions.search import search

    known = set(bank.by_id)
    missing: set[str] = set()
    n = r1 = r3 = 0
    rr = 0.0
    misses: list[dict] = []
    skipped = 0
    for query in queries:
        ids = [i for i in query.ids if i in known]
        missing.update(i for i in query.ids if i not in known)
        if not ids:
            skipped += 1
            continue
        got = [h.id for h in search(bank, query.q, top=depth)]
        rank = next((k for k, cid in enumerate(got, 1) if cid in ids), 0)
        n += 1
        r1 += rank == 1
        r3 += 1 <= rank <= 3
        rr += 1 / rank if rank else 0.0
        if not 1 <= rank <= 3:
            misses.append({"q": query.q, "expected": ids, "rank": rank, "got": got[:3]})
    return {
        "n": n,
        "recall@1": round(r1 / n, 4) if n else 0.0,
        "recall@3": round(r3 / n, 4) if n else 0.0,
        "mrr": round(rr / n, 4) if n else 0.0,
        "misses": misses,
        "skipped": skipped,
        "missing_ids": sorted(missing),
    }
