"""Scheduling on fsrs: stable card ids, queue order, daily new-card limit, interval previews."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Rating, State

from study import scheduler as sched
from study.store import SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_stable_int_is_fixed_and_stored(tmp_path: Path) -> None:
    assert sched.stable_int("encoder-block") == sched.stable_int("encoder-block")
    assert sched.stable_int("encoder-block") != sched.stable_int("decoder-block")
    assert 0 < sched.stable_int("x") < 2**62
    store = SQLiteStore(tmp_path / "p.sqlite3")
    a = sched.card_id_for(store, "encoder-block")
    assert a == sched.stable_int("encoder-block") == sched.card_id_for(store, "encoder-block")
    # a (forced) collision gets the next free int, then keeps it
    b = store.card_int("other", a)
    assert b == a + 1 and store.card_int("other", 12345) == a + 1


def test_preview_matches_the_committed_interval(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
    me = store.get_or_create_profile("me")
    s = sched.make_scheduler()
    card = sched.current_card(store, me.id, "q", T0)
    pv = sched.preview(s, card, T0)
    # fsrs defaults: learning steps 1 min and 10 min; Easy jumps straight to review
    assert pv[Rating.Again] == timedelta(minutes=1)
    assert pv[Rating.Good] == timedelta(minutes=10)
    assert pv[Rating.Hard] == timedelta(minutes=5, seconds=30)
    assert pv[Rating.Easy] >= timedelta(days=1)
    assert store.reviews(me.id) == []  # previews commit nothing
    rated = sched.rate(store, s, me.id, "q", Rating.Easy, now=T0)
    assert rated.interval == pv[Rating.Easy]
    assert store.card_states(me.id)["q"].state == State.Review


def test_queue_order_and_daily_new_limit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
    me = store.get_or_create_profile("me")
    s = sched.make_scheduler()
    ids = [f"c{i}" for i in range(10)]
    yesterday = T0 - timedelta(days=10)
    sched.rate(store, s, me.id, "c0", Rating.Easy, now=yesterday)        # review, due by T0
    sched.rate(store, s, me.id, "c1", Rating.Again, now=T0 - timedelta(minutes=5))  # learning, due
    sched.rate(store, s, me.id, "c2", Rating.Good, now=T0 - timedelta(minutes=1))   # learning, due in 9 min
    states = store.card_states(me.id)
    assert states["c0"].due <= T0 and states["c1"].due <= T0 < states["c2"].due
    new_today = store.new_cards_since(me.id, sched.today_start(T0))
    assert new_today == 2  # c1 and c2 had their first review today; c0 ten days ago
    q = sched.build_queue(ids, states, T0, new_today, new_limit=5)
    assert q.learning == ["c1"] and q.review == ["c0"] and q.ahead == ["c2"]
    assert q.new == ["c3", "c4", "c5"]  # 5 per day, 2 already introduced
    assert q.order() == ["c1", "c0", "c3", "c4", "c5", "c2"]
    assert q.next(skip=["c1"]) == "c0"
    assert q.new_total == 7
    full = sched.build_queue(ids, states, T0, new_today=5, new_limit=5)
    assert full.new == [] and full.new_total == 7


def test_today_start_follows_the_learner_offset() -> None:
    now = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert sched.today_start(now) == datetime(2026, 3, 2, tzinfo=UTC)
    # UTC+8: local time is 09:30 on 2 March -> local midnight is 16:00 UTC on 1 March
    assert sched.today_start(now, 480) == datetime(2026, 3, 1, 16, tzinfo=UTC)
    # UTC-5: local time is 20:30 on 1 March -> local midnight is 05:00 UTC on 1 March
    assert sched.today_start(now, -300) == datetime(2026, 3, 1, 5, tzinfo=UTC)


def test_interval_parts() -> None:
    assert sched.interval_parts(timedelta(seconds=20)) == (1, "min")
    assert sched.interval_parts(timedelta(minutes=10)) == (10, "min")
    assert sched.interval_parts(timedelta(hours=3)) == (3, "hour")
    assert sched.interval_parts(timedelta(days=8)) == (8, "day")
    assert sched.interval_parts(timedelta(days=90)) == (3.0, "month")
    assert sched.interval_parts(timedelta(days=730)) == (2.0, "year")
