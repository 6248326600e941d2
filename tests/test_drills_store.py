"""Drill attempts in the progress store, on both backends (SQLite file and PostgreSQL): the code,
the result, the reveal flag, the status per drill, the last code; and the stats count."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from study import stats
from study.store import ProgressStore


def test_attempts_status_and_last_code(store: ProgressStore) -> None:
    me = store.get_or_create_profile("alice")
    other = store.get_or_create_profile("bob")
    assert store.drill_status(me.id) == {} and store.last_drill_code(me.id, "sdpa") is None
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    r1 = {"id": "sdpa", "passed": False, "checks": [{"name": "values", "passed": False, "message": "√d 缺失"}], "ms": 5}
    a1 = store.record_drill_attempt(me.id, "sdpa", "def attention(): 1", False, r1, created_at=t0)
    store.record_drill_attempt(me.id, "sdpa", "def attention(): 2", False, r1, revealed=True,
                               created_at=t0 + timedelta(minutes=1))
    store.record_drill_attempt(me.id, "causal_mask", "x", False, {"passed": False, "checks": []})
    assert store.drill_status(me.id) == {"sdpa": "failing", "causal_mask": "failing"}
    store.record_drill_attempt(me.id, "sdpa", "def attention(): 3", True, {"passed": True, "checks": []},
                               created_at=t0 + timedelta(minutes=2))
    store.record_drill_attempt(me.id, "sdpa", "def attention(): 4  # broke it again", False, r1,
                               created_at=t0 + timedelta(minutes=3))
    assert store.drill_status(me.id) == {"sdpa": "passed", "causal_mask": "failing"}   # passed once = passed
    assert store.last_drill_code(me.id, "sdpa") == "def attention(): 4  # broke it again"
    attempts = store.drill_attempts(me.id, "sdpa")
    assert [a.code[-1] for a in attempts][:3] == ["1", "2", "3"] and len(attempts) == 4
    assert attempts[0].id == a1 and attempts[0].result == r1 and attempts[0].created_at == t0
    assert [a.revealed for a in attempts] == [False, True, False, False]
    assert [a.passed for a in attempts] == [False, False, True, False]
    assert len(store.drill_attempts(me.id)) == 5
    # other learners see nothing of it
    assert store.drill_status(other.id) == {} and store.drill_attempts(other.id) == []
    assert store.last_drill_code(other.id, "sdpa") is None
    assert stats.drills_solved(store.drill_status(me.id), ["sdpa", "causal_mask", "mha"]) == 1
