"""Progress store: schema, profiles, durability (kill -9), concurrency, corrupt/foreign files.

Tests that take the `store` or `store_target` fixture (tests/conftest.py) are the store contract:
they run once on an SQLite file and once on a real PostgreSQL server (tests/pgserver.py).
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fsrs import Rating

from study import scheduler as sched
from study.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    BadName,
    CardState,
    InterviewAnswer,
    ProgressStore,
    SQLiteStore,
    StoreError,
    db_path,
)
from study.stores import open_store

ROOT = Path(__file__).resolve().parents[1]


def test_new_file_is_versioned_wal_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "p.sqlite3"  # folders are created
    store = SQLiteStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version() == SCHEMA_VERSION
    # reopening runs no migration twice
    SQLiteStore(path).get_or_create_profile("x")
    assert [p.name for p in SQLiteStore(path).profiles()] == ["x"]


def test_db_path_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIL_DB", str(tmp_path / "a.sqlite3"))
    assert db_path() == tmp_path / "a.sqlite3"
    monkeypatch.delenv("TIL_DB")
    assert db_path() == ROOT / "data" / "progress.sqlite3"


def test_profiles_keep_separate_progress(store: ProgressStore) -> None:
    alice = store.get_or_create_profile("  Alice  ")
    bob = store.get_or_create_profile("Bob")
    assert alice.name == "Alice" and store.get_or_create_profile("Alice").id == alice.id
    s = sched.make_scheduler()
    sched.rate(store, s, alice.id, "encoder-block", Rating.Good)
    sched.rate(store, s, alice.id, "decoder-block", Rating.Again)
    assert set(store.card_states(alice.id)) == {"encoder-block", "decoder-block"}
    assert store.card_states(bob.id) == {}
    assert [r.rating for r in store.reviews(alice.id)] == [3, 1]
    store.set_bookmark(bob.id, "encoder-block", True)
    assert store.bookmarks(bob.id) == {"encoder-block"} and store.bookmarks(alice.id) == set()
    store.set_setting(alice.id, "new_per_day", 7)
    assert store.get_setting(alice.id, "new_per_day") == 7 and store.get_setting(bob.id, "new_per_day", 20) == 20
    with pytest.raises(ValueError):
        store.get_or_create_profile("   ")


def test_undo_restores_previous_state(store: ProgressStore) -> None:
    me = store.get_or_create_profile("me")
    s = sched.make_scheduler()
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    first = sched.rate(store, s, me.id, "q1", Rating.Good, now=t0)
    before = store.card_states(me.id)["q1"].card_json
    sched.rate(store, s, me.id, "q1", Rating.Good, now=t0 + timedelta(minutes=11))
    assert store.card_states(me.id)["q1"].card_json != before
    undone = store.undo_last_review(me.id)
    assert undone.question_id == "q1" and undone.rating == 3
    assert store.card_states(me.id)["q1"].card_json == before
    assert [r.id for r in store.reviews(me.id)] == [first.review_id]
    store.undo_last_review(me.id)
    assert store.card_states(me.id) == {} and store.reviews(me.id) == []
    assert store.undo_last_review(me.id) is None


def test_corrupt_file_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    junk = b"this is not a database\x00" * 100
    path.write_bytes(junk)
    with pytest.raises(StoreError) as exc:
        SQLiteStore(path)
    assert "not an SQLite database" in exc.value.reason
    assert path.read_bytes() == junk


def test_damaged_sqlite_header_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    store = SQLiteStore(path)
    store.get_or_create_profile("me")
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # trash the first page's b-tree
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreError):
        SQLiteStore(path)
    assert path.read_bytes() == before


def test_foreign_database_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER, total REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as exc:
        SQLiteStore(path)
    assert "another application" in exc.value.reason and "invoices" in exc.value.reason
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as exc:
        SQLiteStore(path)
    assert "newer version" in exc.value.reason


def test_threads_writing_at_once_lose_nothing(store: ProgressStore) -> None:
    s = sched.make_scheduler()
    profiles = [store.get_or_create_profile(f"learner{i}") for i in range(4)]
    errors: list[BaseException] = []

    def work(pid: int) -> None:
        try:
            for j in range(40):
                sched.rate(store, s, pid, f"card-{j % 10}", Rating(1 + j % 4))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p.id,)) for p in profiles]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for p in profiles:
        assert len(store.reviews(p.id)) == 40
        assert len(store.card_states(p.id)) == 10


WRITER = r"""
import sys
from fsrs import Rating
from study import scheduler as sched
from study.stores import open_store
store = open_store(sys.argv[1])
me = store.get_or_create_profile(sys.argv[2])
s = sched.make_scheduler()
for i in range(int(sys.argv[3])):
    rated = sched.rate(store, s, me.id, f"card-{i}", Rating.Good)
    print(f"ack {rated.review_id}", flush=True)
"""


def _writer(target: str, name: str, n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, target, name, str(n)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_processes_writing_at_once_lose_nothing(store_target: str) -> None:
    open_store(store_target).close()  # created once; the writers then open it at the same time
    procs = [_writer(store_target, f"proc{i}", 60) for i in range(3)]
    acks = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        acks += [int(line.split()[1]) for line in out.splitlines() if line.startswith("ack ")]
    assert len(acks) == 180
    store = open_store(store_target)
    ids = [r.id for p in store.profiles() for r in store.reviews(p.id)]
    assert sorted(acks) == sorted(ids) and len(set(ids)) == 180
    assert sorted(p.name for p in store.profiles()) == ["proc0", "proc1", "proc2"]


def test_kill_9_loses_no_acknowledged_review(store_target: str) -> None:
    """A writer is SIGKILLed mid-session: every review it acknowledged is in the file (database)."""
    proc = _writer(store_target, "victim", 100_000)
    acked: list[int] = []
    deadline = time.time() + 60
    while len(acked) < 40 and time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ack "):
            acked.append(int(line.split()[1]))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # whatever was already printed before the kill counts too
    acked += [int(x.split()[1]) for x in proc.stdout.read().splitlines() if x.startswith("ack ")]
    assert len(acked) >= 40
    store = open_store(store_target)  # opens cleanly after the crash (SQLite: WAL recovery)
    me = store.get_or_create_profile("victim")
    ids = {r.id for r in store.reviews(me.id)}
    assert set(acked) <= ids
    states = store.card_states(me.id)
    for r in store.reviews(me.id):
        assert r.question_id in states
        assert json.loads(states[r.question_id].card_json)["state"] in (1, 2, 3)


def test_interview_history_with_audio(store: ProgressStore) -> None:
    me = store.get_or_create_profile("me")
    now = datetime.now(UTC)
    audio = b"RIFF....WAVEfmt " + bytes(range(256))
    iid = store.save_interview(me.id, now, now, {"n": 2}, {"mean_score": 0.5, "rows": []},
                               [InterviewAnswer(0, "q1", "hello 🙂", audio, 12.5, 0.5, 3),
                                InterviewAnswer(1, "q2", "", None, 30.0, 0.0, 1)])
    [rec] = store.interviews(me.id)
    assert rec.id == iid and rec.summary["mean_score"] == 0.5 and rec.config == {"n": 2}
    answers = store.interview_answers(iid)
    assert answers[0].audio == audio and answers[0].answer_text == "hello 🙂" and answers[1].audio is None


def test_imported_cards_per_profile(store: ProgressStore) -> None:
    a, b = store.get_or_create_profile("a"), store.get_or_create_profile("b")
    store.replace_imported_cards(a.id, [{"id": "my-card", "x": 1}])
    assert store.imported_cards(a.id) == [{"id": "my-card", "x": 1}] and store.imported_cards(b.id) == []


def _card(state: int, due: datetime, stability: float | None) -> str:
    """The fields of an fsrs card JSON that the store reads back on undo."""
    return json.dumps({"state": state, "due": due.isoformat(), "stability": stability})


def test_every_method_returns_the_same_values(store: ProgressStore) -> None:
    """Every ProgressStore method with real values, exact results (types, order, timestamps)."""
    assert store.schema_version() == SCHEMA_VERSION
    # profiles: names cleaned, create idempotent, sorted with ASCII case folded, ties in byte order
    made = {n: store.get_or_create_profile(n) for n in ["bob", "Alice", "Émile", "zed", "_x", "B"]}
    assert [p.name for p in store.profiles()] == ["_x", "Alice", "B", "bob", "zed", "Émile"]
    assert store.get_or_create_profile("  bob \t ") == made["bob"] and isinstance(made["bob"].id, int)
    assert store.get_or_create_profile("ＢＯＢ") == made["bob"]  # one learner per name, case and width folded
    with pytest.raises(BadName):  # too long: refused, not cut (a cut name could be someone else's)
        store.get_or_create_profile("x" * 60)
    me, other = made["bob"], made["zed"]

    # card ids: fixed once stored, a colliding candidate takes the next free int, 62-bit values fit
    assert store.card_int("q-a", 1000) == 1000
    assert store.card_int("q-a", 7) == 1000
    assert store.card_int("q-b", 1000) == 1001 and store.card_int("q-c", 1000) == 1002
    assert store.card_int("q-big", (1 << 62) - 1) == (1 << 62) - 1

    # reviews and card states: timestamps come back as the same instants, aware UTC
    t0 = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
    c1 = _card(1, t0 + timedelta(minutes=10), 2.5)
    r1 = store.record_review(me.id, "q-a", 3, t0, None, c1, 1, t0 + timedelta(minutes=10), 2.5, duration_ms=1234)
    naive = datetime(2026, 3, 1, 9, 0)  # taken as UTC
    c2 = _card(2, t0 + timedelta(days=3), 7.25)
    r2 = store.record_review(me.id, "q-a", 4, naive, c1, c2, 2, t0 + timedelta(days=3), 7.25)
    plus8 = timezone(timedelta(hours=8))
    r3 = store.record_review(me.id, "q-b", 1, datetime(2026, 3, 2, 18, 0, tzinfo=plus8), None,
                             _card(1, t0, None), 1, t0, None, duration_ms=0)
    store.record_review(other.id, "q-a", 2, t0, None, c1, 1, t0, 1.0)
    assert r1 < r2 < r3 and all(isinstance(r, int) for r in (r1, r2, r3))
    got = store.reviews(me.id)
    assert [(r.id, r.question_id, r.rating, r.duration_ms) for r in got] == [
        (r1, "q-a", 3, 1234), (r2, "q-a", 4, None), (r3, "q-b", 1, 0)]
    assert [r.reviewed_at for r in got] == [t0, naive.replace(tzinfo=UTC), datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]
    assert all(r.reviewed_at.utcoffset() == timedelta(0) for r in got)
    since = naive.replace(tzinfo=UTC)
    assert [r.id for r in store.reviews(me.id, since=since)] == [r2, r3]  # `since` is inclusive
    assert store.new_cards_since(me.id, t0) == 2 and store.new_cards_since(me.id, since) == 1
    assert store.new_cards_since(me.id, datetime(2027, 1, 1, tzinfo=UTC)) == 0
    states = store.card_states(me.id)
    assert set(states) == {"q-a", "q-b"}
    assert states["q-a"] == CardState("q-a", c2, 2, t0 + timedelta(days=3), 7.25)
    assert states["q-b"].stability is None and states["q-b"].due == t0
    assert isinstance(states["q-a"].stability, float) and isinstance(states["q-a"].state, int)

    # undo: the latest review goes, the card state before it comes back (or goes, if it was new)
    undone = store.undo_last_review(me.id)
    assert (undone.id, undone.question_id, undone.rating, undone.duration_ms) == (r3, "q-b", 1, 0)
    assert undone.reviewed_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert "q-b" not in store.card_states(me.id)
    assert store.undo_last_review(me.id).id == r2
    assert store.card_states(me.id)["q-a"] == CardState("q-a", c1, 1, t0 + timedelta(minutes=10), 2.5)
    assert [r.id for r in store.reviews(me.id)] == [r1] and len(store.reviews(other.id)) == 1

    # bookmarks: a set per learner; setting twice or clearing an unset one is fine
    store.set_bookmark(me.id, "q-a", True)
    store.set_bookmark(me.id, "q-a", True)
    store.set_bookmark(me.id, "q-z", True)
    store.set_bookmark(me.id, "q-never", False)
    assert store.bookmarks(me.id) == {"q-a", "q-z"} and store.bookmarks(other.id) == set()
    store.set_bookmark(me.id, "q-a", False)
    assert store.bookmarks(me.id) == {"q-z"}

    # interviews: newest first, `limit`, JSON round trip, answers by idx with bytes and floats
    ids = []
    for k in range(3):
        answers = [InterviewAnswer(1, "q2", "二 🙂", None, 30.0, 0.0, None),
                   InterviewAnswer(0, "q1", "one", bytes(range(256)) * 4, 12.5, 0.75, 3)]
        ids.append(store.save_interview(me.id, t0 + timedelta(hours=k), t0 + timedelta(hours=k, minutes=5),
                                        {"n": 2, "lang": "zh", "k": k}, {"mean_score": 0.375, "rows": [1, "二"]},
                                        answers))
    assert [r.id for r in store.interviews(me.id)] == ids[::-1]
    assert [r.id for r in store.interviews(me.id, limit=2)] == ids[:0:-1]
    rec = store.interviews(me.id)[-1]
    assert (rec.started_at, rec.finished_at) == (t0, t0 + timedelta(minutes=5))
    assert rec.config == {"n": 2, "lang": "zh", "k": 0} and rec.summary == {"mean_score": 0.375, "rows": [1, "二"]}
    assert store.interview_answers(ids[0]) == [
        InterviewAnswer(0, "q1", "one", bytes(range(256)) * 4, 12.5, 0.75, 3),
        InterviewAnswer(1, "q2", "二 🙂", None, 30.0, 0.0, None)]
    assert type(store.interview_answers(ids[0])[0].audio) is bytes
    assert store.interviews(other.id) == [] and store.interview_answers(10_000) == []

    # settings: JSON values per (learner, key), overwritten; a stored None is not the default
    assert store.get_setting(me.id, "new_per_day", 20) == 20
    store.set_setting(me.id, "new_per_day", 7)
    store.set_setting(me.id, "new_per_day", 9)
    store.set_setting(me.id, "ui", {"topics": ["attention", "ffn"], "dark": True, "ratio": 0.5})
    store.set_setting(me.id, "nothing", None)
    assert store.get_setting(me.id, "new_per_day") == 9 and store.get_setting(other.id, "new_per_day") is None
    assert store.get_setting(me.id, "ui") == {"topics": ["attention", "ffn"], "dark": True, "ratio": 0.5}
    assert store.get_setting(me.id, "nothing", "default") is None

    # imported cards: added or updated by id, listed by id in byte order
    store.replace_imported_cards(me.id, [{"id": "b", "v": 1}, {"id": "a_b", "v": 1}, {"id": "B", "v": 1}])
    store.replace_imported_cards(me.id, [{"id": "a-c", "v": 2}, {"id": "b", "v": 2, "q": "问题"}])
    store.replace_imported_cards(me.id, [])
    assert store.imported_cards(me.id) == [{"id": "B", "v": 1}, {"id": "a-c", "v": 2}, {"id": "a_b", "v": 1},
                                           {"id": "b", "v": 2, "q": "问题"}]
    assert store.imported_cards(other.id) == []
    with pytest.raises(ValueError):
        store.get_or_create_profile(" \n ")

