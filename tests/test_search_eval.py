"""The search evaluation set (questions/eval/queries.yaml) and the recall it must keep.

The set is hand-written: no query may be a copy or near-copy of a card question or alias
(rapidfuzz ratio < 90 on casefolded text), so recall measures search, not string matching.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from questions.bank import load_bank
from questions.schema import TOPICS
from questions.search_eval import evaluate, load_queries

ROOT = Path(__file__).resolve().parents[1]
MIN_RECALL_AT_3 = 0.90


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROOT / "questions")


@pytest.fixture(scope="module")
def queries():
    return load_queries()


def test_query_set_shape(bank, queries) -> None:
    assert len(queries) >= 200
    assert len({q.q for q in queries}) == len(queries), "duplicate queries"
    assert all(q.q.strip() and q.ids for q in queries)
    labelled = {i for q in queries for i in q.ids if i in bank.by_id}
    topics = {bank.by_id[i].topic for i in labelled}
    assert topics == set(TOPICS) - {t for t, n in bank.topic_counts().items() if n == 0}


def test_queries_are_not_copies_of_card_text(bank, queries) -> None:
    texts = [t.casefold() for c in bank.cards
             for t in (c.question.zh, c.question.en, *c.aliases.zh, *c.aliases.en)]
    copies = []
    for q in queries:
        qq = q.q.casefold()
        best = max(texts, key=lambda t: fuzz.ratio(qq, t))
        if fuzz.ratio(qq, best) >= 90:
            copies.append((q.q, best))
    assert not copies, copies


def test_recall_holds(bank, queries) -> None:
    result = evaluate(bank, queries)
    print(f"\nsearch eval: n={result['n']} recall@1={result['recall@1']} recall@3={result['recall@3']} "
          f"mrr={result['mrr']}")
    assert result["n"] >= 200
    assert result["recall@3"] >= MIN_RECALL_AT_3, result["misses"]
    assert 0 < result["recall@1"] <= result["recall@3"] <= 1
    assert result["mrr"] >= result["recall@1"]


def test_evaluate_counts_ranks() -> None:
    """On a two-card stub: rank 1, rank 2 and a miss give the exact recall and MRR."""
    from types import SimpleNamespace

    import questions.search_eval as se

    class Bank:
        by_id = {"a": None, "b": None}

    ranked = {"q1": ["a", "b"], "q2": ["b", "a"], "q3": ["b"]}
    queries = [se.Query("q1", ("a",)), se.Query("q2", ("a",)), se.Query("q3", ("a",)),
               se.Query("q4", ("zzz",))]
    import questions.search as search_mod
    orig = search_mod.search
    search_mod.search = lambda bank, q, top=10: [SimpleNamespace(id=i) for i in ranked[q][:top]]
    try:
        r = se.evaluate(Bank(), queries)
    finally:
        search_mod.search = orig
    assert r["n"] == 3 and r["skipped"] == 1 and r["missing_ids"] == ["zzz"]
    assert r["recall@1"] == round(1 / 3, 4)
    assert r["recall@3"] == round(2 / 3, 4)
    assert r["mrr"] == round((1 + 0.5) / 3, 4)
    assert [m["q"] for m in r["misses"]] == ["q3"]


def test_cli_eval_json() -> None:
    res = subprocess.run([sys.executable, "-m", "questions", "eval", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert {"n", "recall@1", "recall@3", "mrr", "misses"} <= set(data)
    assert data["n"] >= 200 and isinstance(data["misses"], list)
