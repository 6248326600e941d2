"""Progress store: schema, profiles, durability (kill -9), concurrency, corrupt/foreign files."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating

from study import scheduler as sched
from study.store import APPLICATION_ID, SCHEMA_VERSION, SQLiteStore, StoreError, db_path

ROOT = Path(__file__).resolve().parents[1]


def test_new_file_is_versioned_wal_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "p.sqlite3"  # folders are created
    store = SQLiteStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
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


def test_profiles_keep_separate_progress(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
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


def test_undo_restores_previous_state(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
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


def test_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
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
from study.store import SQLiteStore
store = SQLiteStore(sys.argv[1])
me = store.get_or_create_profile(sys.argv[2])
s = sched.make_scheduler()
for i in range(int(sys.argv[3])):
    rated = sched.rate(store, s, me.id, f"card-{i}", Rating.Good)
    print(f"ack {rated.review_id}", flush=True)
"""


def _writer(path: Path, name: str, n: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(n)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    SQLiteStore(path)
    procs = [_writer(path, f"proc{i}", 60) for i in range(3)]
    acks = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        acks += [int(line.split()[1]) for line in out.splitlines() if line.startswith("ack ")]
    assert len(acks) == 180
    conn = sqlite3.connect(path)
    ids = {r[0] for r in conn.execute("SELECT id FROM reviews")}
    assert set(acks) == ids


def test_kill_9_loses_no_acknowledged_review(tmp_path: Path) -> None:
    """A writer is SIGKILLed mid-session: every review it acknowledged is in the file."""
    path = tmp_path / "p.sqlite3"
    proc = _writer(path, "victim", 100_000)
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
    store = SQLiteStore(path)  # opens cleanly after the crash (WAL recovery)
    me = store.get_or_create_profile("victim")
    ids = {r.id for r in store.reviews(me.id)}
    assert set(acked) <= ids
    states = store.card_states(me.id)
    for r in store.reviews(me.id):
        assert r.question_id in states
        assert json.loads(states[r.question_id].card_json)["state"] in (1, 2, 3)


def test_interview_history_with_audio(tmp_path: Path) -> None:
    from study.store import InterviewAnswer

    store = SQLiteStore(tmp_path / "p.sqlite3")
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


def test_imported_cards_per_profile(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
    a, b = store.get_or_create_profile("a"), store.get_or_create_profile("b")
    store.replace_imported_cards(a.id, [{"id": "my-card", "x": 1}])
    assert store.imported_cards(a.id) == [{"id": "my-card", "x": 1}] and store.imported_cards(b.id) == []
