"""Faults of the progress store: kill -9 mid-transaction, a full disk, a read-only file or disk.

Every case checks the same two promises: nothing the app acknowledged is lost, and the learner
is told in plain words (StoreWriteError with a reason; the page shows it, no traceback).

The full-disk and read-only-disk cases mount a tiny tmpfs (root only; skipped with the reason
otherwise). Root ignores permission bits, so "read-only" is simulated the ways that do bind
root: a read-only remount of the tmpfs, and an SQLite connection opened with `mode=ro`.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fsrs import Rating
from streamlit.testing.v1 import AppTest

from study import scheduler as sched
from study.store import InterviewAnswer, SQLiteStore, StoreError, StoreWriteError, is_postgres_url
from study.stores import open_store
from tests.apptest import open_page

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# helpers

@contextlib.contextmanager
def tmpfs(size: str = "1m") -> Iterator[Path]:
    """A fresh tmpfs of `size` (skips when mounting is not permitted), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs needs root (the full-disk / read-only-disk faults)")
    d = Path(tempfile.mkdtemp(prefix="til-fault-"))
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(d)],
                         capture_output=True, text=True)
    if res.returncode:
        d.rmdir()
        pytest.skip(f"mounting a tmpfs is not permitted here: {res.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)
        with contextlib.suppress(OSError):
            d.rmdir()


def remount(d: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(d)], check=True, capture_output=True)


def fill(d: Path) -> Path:
    """Fill the filesystem of `d` to the last byte; returns the filler file (delete it to free)."""
    filler = d / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    return filler


def review_ids(path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM reviews")}
    finally:
        conn.close()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def rate_current(at: AppTest, rating: int = 3) -> str:
    qid = at.session_state["fc:current"]
    at.button(key="fc:reveal").click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key=f"fc:rate{rating}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return qid


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


# ---------------------------------------------------------------------------------------------
# a full disk

def test_full_disk_refuses_writes_clearly_and_keeps_everything_acked() -> None:
    with tmpfs("1m") as d:
        path = d / "p.sqlite3"
        store = SQLiteStore(path)
        me = store.get_or_create_profile("me")
        s = sched.make_scheduler()
        acked = [sched.rate(store, s, me.id, f"card-{i}", Rating.Good).review_id for i in range(5)]
        store.replace_imported_cards(me.id, [{"id": "mine-1", "x": 1}])
        filler = fill(d)

        refused = None
        for i in range(200):  # the WAL may still have room for a write or two: bounded
            try:
                acked.append(sched.rate(store, s, me.id, f"more-{i}", Rating.Good).review_id)
            except StoreWriteError as exc:
                refused = exc
                break
        assert refused is not None, "a full disk never refused a write"
        assert refused.kind == "full" and "disk is full" in refused.reason
        assert isinstance(refused, StoreError) and str(path) in str(refused)
        # a multi-row write is refused as a whole: nothing half-written
        big = [{"id": f"big-{j}", "text": "x" * 2000} for j in range(300)]
        with pytest.raises(StoreWriteError):
            store.replace_imported_cards(me.id, big)
        with pytest.raises(StoreWriteError):
            store.save_interview(me.id, *[__import__("datetime").datetime.now()] * 2, {}, {},
                                 [InterviewAnswer(0, "q", "a", b"\0" * 200_000, 1.0, 0.5, 3)])
        # reads still work during the fault and show exactly what was acknowledged
        assert [r.id for r in store.reviews(me.id)] == acked
        assert store.imported_cards(me.id) == [{"id": "mine-1", "x": 1}]
        assert store.interviews(me.id) == []

        filler.unlink()  # space again: the same store object writes again, nothing was lost
        extra = sched.rate(store, s, me.id, "after", Rating.Good).review_id
        store.close()
        reopened = SQLiteStore(path)
        assert [r.id for r in reopened.reviews(me.id)] == [*acked, extra]
        assert len(reopened.card_states(me.id)) == len(acked) + 1
        reopened.close()
        assert integrity(path) == "ok"


def test_full_disk_at_creation_is_a_clear_error() -> None:
    with tmpfs("64k") as d:
        fill(d)
        with pytest.raises(StoreError) as exc:
            SQLiteStore(d / "p.sqlite3")
        assert isinstance(exc.value, StoreWriteError) and exc.value.kind == "full"
        assert "disk is full" in exc.value.reason


@pytest.fixture()
def tiny_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    with tmpfs("2m") as d:
        path = d / "progress.sqlite3"
        monkeypatch.setenv("TIL_DB", str(path))
        yield d, path


def test_flashcards_page_on_a_full_disk(tiny_db: tuple[Path, Path]) -> None:
    """Two ratings saved, the disk fills: a rating is refused with a message (no traceback), the
    card stays on screen, the two saved reviews are intact; space freed: the next rating saves."""
    d, path = tiny_db
    at = open_page("flashcards")
    saved = [rate_current(at), rate_current(at)]
    assert len(review_ids(path)) == 2
    filler = fill(d)
    for _ in range(20):
        before = at.session_state["fc:current"]
        qid = rate_current(at)
        msgs = errors(at)
        if msgs:
            break
        saved.append(qid)
    else:
        pytest.fail("the page never reported the full disk")
    assert any(m.startswith("Not saved: the disk is full.") and "Everything saved before is still there" in m
               for m in msgs), msgs
    assert at.session_state["fc:current"] == before  # the refused card is still the one shown
    assert len(review_ids(path)) == len(saved)
    assert [b.key for b in at.button if b.key and b.key.startswith("fc:rate")]  # still revealed: retry at once
    filler.unlink()
    at.button(key="fc:rate3").click().run()
    assert not at.exception and not errors(at)
    assert len(review_ids(path)) == len(saved) + 1
    conn = sqlite3.connect(path)
    assert [q for (q,) in conn.execute("SELECT question_id FROM reviews ORDER BY id")] == [*saved, before]
    conn.close()


def test_yaml_import_on_a_full_disk_says_so(tiny_db: tuple[Path, Path]) -> None:
    """The learner's YAML bank is valid but the disk is full: the page says so, nothing is half
    imported; once space is freed the same file imports."""
    d, path = tiny_db
    at = open_page("flashcards")
    rate_current(at)
    filler = fill(d)
    card = {"id": "my-own-card", "topic": "attention", "difficulty": 1, "source": "supplement",
            "question": {"zh": "问题？", "en": "A question?"}, "answer": {"zh": "答" * 2000, "en": "A " * 2000},
            "keywords": {"zh": [["注意力"]], "en": [["attention"]]}}
    data = json.dumps([dict(card, id=f"my-own-card-{i}") for i in range(40)]).encode()  # JSON is YAML
    at.file_uploader(key="fc:upload").set_value(("mine.yaml", data, "application/x-yaml")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.startswith("Not saved: the disk is full.") for m in errors(at)), errors(at)
    store = SQLiteStore(path)
    assert store.imported_cards(1) == [] and len(review_ids(path)) == 1
    filler.unlink()
    at.file_uploader(key="fc:upload").set_value(("mine.yaml", data, "application/x-yaml")).run()
    assert not at.exception and not errors(at)
    assert len(store.imported_cards(1)) == 40


# ---------------------------------------------------------------------------------------------
# a read-only file or disk

def test_read_only_disk_at_start_is_refused_with_a_clear_reason() -> None:
    with tmpfs("1m") as d:
        path = d / "p.sqlite3"
        store = SQLiteStore(path)
        me = store.get_or_create_profile("me")
        acked = [sched.rate(store, sched.make_scheduler(), me.id, f"c{i}", Rating.Easy).review_id for i in range(3)]
        store.close()
        before = path.read_bytes()
        remount(d, "ro")
        try:
            with pytest.raises(StoreWriteError) as exc:
                SQLiteStore(path)
            assert exc.value.kind == "readonly" and "read-only" in exc.value.reason
            assert path.read_bytes() == before
        finally:
            remount(d, "rw")
        assert {r.id for r in SQLiteStore(path).reviews(me.id)} == set(acked)


def test_pages_on_a_read_only_disk_say_so(tiny_db: tuple[Path, Path]) -> None:
    d, path = tiny_db
    store = SQLiteStore(path)
    store.get_or_create_profile("me")
    store.close()
    remount(d, "ro")
    try:
        for page, lang, words in (("flashcards", "en", "read-only"), ("stats", "zh", "只读"),
                                  ("interview", "en", "read-only")):
            at = open_page(page, lang)
            assert any(str(path) in m and words in m for m in errors(at)), (page, errors(at))
    finally:
        remount(d, "rw")


def _read_only_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every new store connection is opened read-only (SQLite URI mode=ro): what a
    file that became read-only under a running app looks like to SQLite (SQLITE_READONLY)."""
    real = sqlite3.connect

    def ro_connect(database, *args, **kw):
        kw["uri"] = True
        return real(f"file:{database}?mode=ro", *args, **kw)

    monkeypatch.setattr("study.store.sqlite3.connect", ro_connect)


def test_file_turning_read_only_while_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.sqlite3"
    store = SQLiteStore(path)
    me = store.get_or_create_profile("me")
    s = sched.make_scheduler()
    acked = [sched.rate(store, s, me.id, f"c{i}", Rating.Good).review_id for i in range(4)]
    store.set_bookmark(me.id, "c0", True)
    store.close()  # the next call opens a new connection, read-only
    with monkeypatch.context() as m:
        _read_only_connections(m)
        for write in (lambda: sched.rate(store, s, me.id, "c9", Rating.Good),
                      lambda: store.set_bookmark(me.id, "c1", True),
                      lambda: store.undo_last_review(me.id),
                      lambda: store.set_setting(me.id, "new_per_day", 3),
                      lambda: store.get_or_create_profile("someone else")):
            with pytest.raises(StoreWriteError) as exc:
                write()
            assert exc.value.kind == "readonly" and "read-only" in exc.value.reason
        assert [r.id for r in store.reviews(me.id)] == acked  # reads still work
        assert store.bookmarks(me.id) == {"c0"}
        store.close()
    assert [r.id for r in store.reviews(me.id)] == acked
    store.set_bookmark(me.id, "c1", True)  # writable again
    assert store.bookmarks(me.id) == {"c0", "c1"}


def test_flashcards_page_when_the_file_turns_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "progress.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    at = open_page("flashcards")
    first = rate_current(at)
    with monkeypatch.context() as m:
        _read_only_connections(m)  # each script run is a new thread: a new, read-only connection
        current = at.session_state["fc:current"]
        rate_current(at)
        assert any(msg.startswith("Not saved: the progress file or its folder is read-only.") for msg in errors(at)), \
            errors(at)
        assert at.session_state["fc:current"] == current
        at.button(key="fc:undo").click().run()  # undo is a write too
        assert not at.exception and errors(at)
    conn = sqlite3.connect(path)
    assert [q for (q,) in conn.execute("SELECT question_id FROM reviews")] == [first]
    conn.close()


def test_chmod_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite3"
    store = SQLiteStore(path)
    me = store.get_or_create_profile("me")
    rid = sched.rate(store, sched.make_scheduler(), me.id, "c", Rating.Good).review_id
    store.close()
    path.chmod(0o444)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("root ignores permission bits; read-only is covered by the tmpfs remount and "
                        "mode=ro tests")
        with pytest.raises(StoreWriteError) as exc:
            SQLiteStore(path).set_bookmark(me.id, "c", True)
        assert "read-only" in exc.value.reason
        assert [r.id for r in SQLiteStore(path).reviews(me.id)] == [rid]
    finally:
        path.chmod(0o644)


# ---------------------------------------------------------------------------------------------
# kill -9 in the middle of multi-row transactions (tests/test_study_store.py covers single reviews)

BATCH_WRITER = r"""
import sys
from datetime import datetime, timezone
from study.store import InterviewAnswer
from study.stores import open_store
store = open_store(sys.argv[1])
me = store.get_or_create_profile("victim")
for i in range(100_000):
    cards = [{"id": f"b{i}-{j}", "text": "x" * 300} for j in range(200)]
    store.replace_imported_cards(me.id, cards)
    now = datetime.now(timezone.utc)
    iid = store.save_interview(me.id, now, now, {"batch": i}, {"n": 50},
                               [InterviewAnswer(k, f"q{k}", "answer " * 20, b"\1" * 2000, 1.0, 0.5, 3)
                                for k in range(50)])
    print(f"ack {i} {iid}", flush=True)
"""


def test_kill_9_during_multi_row_writes_is_all_or_nothing(store_target: str) -> None:
    """On both backends (an SQLite file, a PostgreSQL database): a batch is all there or not at all."""
    proc = subprocess.Popen([sys.executable, "-c", BATCH_WRITER, store_target], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    acked: list[tuple[int, int]] = []
    deadline = time.time() + 60
    while len(acked) < 8 and time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ack "):
            acked.append(tuple(map(int, line.split()[1:])))
    time.sleep(0.013)  # land inside a transaction more often than between two
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    acked += [tuple(map(int, x.split()[1:])) for x in proc.stdout.read().splitlines() if x.startswith("ack ")]
    assert len(acked) >= 8
    if not is_postgres_url(store_target):
        assert integrity(Path(store_target)) == "ok"
    store = open_store(store_target)
    me = store.get_or_create_profile("victim")
    ids = {c["id"] for c in store.imported_cards(me.id)}
    batches: dict[str, int] = {}
    for cid in ids:
        b = cid.split("-")[0]
        batches[b] = batches.get(b, 0) + 1
    assert all(n == 200 for n in batches.values()), batches  # no half-imported batch
    for i, _ in acked:
        assert batches.get(f"b{i}") == 200
    interviews = {r.id: r for r in store.interviews(me.id, limit=100_000)}
    for _, iid in acked:
        assert len(store.interview_answers(iid)) == 50
    for iid in interviews:
        assert len(store.interview_answers(iid)) == 50  # none saved without its answers
