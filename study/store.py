"""The progress store: every learner's reviews, card states, bookmarks, interviews and settings.

One narrow interface (`ProgressStore`) and one implementation (`SQLiteStore`, an embedded SQLite
file). A class server can later provide another implementation (e.g. PostgreSQL) of the same
protocol; nothing outside this module writes SQL.

Durability: every write is its own transaction, committed (WAL, synchronous=FULL) before the
method returns, so a review the UI has acknowledged survives a `kill -9` of the server. Several
sessions (threads or processes) may write at once: each thread has its own connection and waits
up to `BUSY_TIMEOUT_MS` for the write lock.

The file is identified by `PRAGMA application_id` and versioned by `PRAGMA user_version`
(migrations in `MIGRATIONS`). A file that is not SQLite, belongs to another application, or
comes from a newer version of this app raises `StoreError` and is left untouched.

Faults: a write the disk refuses (full disk, read-only file or folder, I/O error, lock held too
long) raises `StoreWriteError` (a `StoreError`) with a plain reason; the transaction is rolled
back, so nothing half-written stays and everything committed before is still there. A progress
file on a read-only disk or folder is refused at open with a reason that says so.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "data" / "progress.sqlite3"
APPLICATION_ID = 0x54494C31  # "TIL1"
BUSY_TIMEOUT_MS = 15000
MAX_NAME = 40

# Each entry migrates user_version i -> i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE profiles (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE card_ids (
        question_id TEXT PRIMARY KEY,
        card_int INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE card_states (
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        question_id TEXT NOT NULL,
        card_json TEXT NOT NULL,
        state INTEGER NOT NULL,
        due TEXT NOT NULL,
        stability REAL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        question_id TEXT NOT NULL,
        rating INTEGER NOT NULL,
        reviewed_at TEXT NOT NULL,
        duration_ms INTEGER,
        prev_card_json TEXT,
        new_card_json TEXT NOT NULL
    );
    CREATE INDEX reviews_profile_time ON reviews(profile_id, reviewed_at);
    CREATE TABLE bookmarks (
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        question_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    CREATE TABLE interviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        config_json TEXT NOT NULL,
        summary_json TEXT NOT NULL
    );
    CREATE TABLE interview_answers (
        interview_id INTEGER NOT NULL REFERENCES interviews(id),
        idx INTEGER NOT NULL,
        question_id TEXT NOT NULL,
        answer_text TEXT NOT NULL,
        audio BLOB,
        seconds REAL NOT NULL,
        coverage REAL NOT NULL,
        self_grade INTEGER,
        PRIMARY KEY (interview_id, idx)
    );
    CREATE TABLE settings (
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (profile_id, key)
    );
    CREATE TABLE imported_cards (
        profile_id INTEGER NOT NULL REFERENCES profiles(id),
        question_id TEXT NOT NULL,
        card_json TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The progress file can't be used (not SQLite, another app's, newer version). It is kept."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class StoreWriteError(StoreError):
    """A write was refused (disk full, read-only, I/O error, busy); it was rolled back, earlier
    progress is intact. `kind` is "full" | "readonly" | "io" | "busy" | "other"."""

    def __init__(self, path: Path, reason: str, kind: str) -> None:
        super().__init__(path, reason)
        self.kind = kind


# SQLite primary result codes -> (kind, plain reason)
_WRITE_FAULTS = {
    13: ("full", "the disk is full, so nothing more can be saved (free some space and try again)"),
    8: ("readonly", "the file or its folder is read-only, so nothing more can be saved"),
    3: ("readonly", "the file or its folder is read-only, so nothing more can be saved"),
    10: ("io", "a disk input/output error stopped the write"),
    14: ("io", "the file can't be opened for writing"),
    5: ("busy", "the file is busy (another program holds its write lock); try again"),
    6: ("busy", "the file is busy (another program holds its write lock); try again"),
}


def _write_fault(path: Path, exc: sqlite3.Error) -> StoreWriteError | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    found = _WRITE_FAULTS.get(code & 0xFF)
    if found is None:
        return None
    kind, reason = found
    return StoreWriteError(path, reason, kind)


def _read_only(path: Path) -> bool:
    """The file, or the folder it would be created in, refuses writing (a read-only mount: even
    root is refused; permission bits alone do not stop root)."""
    target = path if path.exists() else path.parent
    return target.exists() and not os.access(target, os.W_OK)


@dataclass(frozen=True)
class Profile:
    id: int
    name: str


@dataclass(frozen=True)
class CardState:
    question_id: str
    card_json: str
    state: int
    due: datetime
    stability: float | None


@dataclass(frozen=True)
class Review:
    id: int
    question_id: str
    rating: int
    reviewed_at: datetime
    duration_ms: int | None


@dataclass(frozen=True)
class InterviewRecord:
    id: int
    started_at: datetime
    finished_at: datetime
    config: dict
    summary: dict


@dataclass(frozen=True)
class InterviewAnswer:
    idx: int
    question_id: str
    answer_text: str
    audio: bytes | None
    seconds: float
    coverage: float
    self_grade: int | None


class ProgressStore(Protocol):
    """What the app needs from a progress backend."""

    path: Any

    # profiles
    def profiles(self) -> list[Profile]: ...
    def get_or_create_profile(self, name: str) -> Profile: ...
    # card ids and states
    def card_int(self, question_id: str, candidate: int) -> int: ...
    def card_states(self, profile_id: int) -> dict[str, CardState]: ...
    # review log
    def record_review(self, profile_id: int, question_id: str, rating: int, reviewed_at: datetime,
                      prev_card_json: str | None, new_card_json: str, state: int, due: datetime,
                      stability: float | None, duration_ms: int | None = None) -> int: ...
    def undo_last_review(self, profile_id: int) -> Review | None: ...
    def reviews(self, profile_id: int, since: datetime | None = None) -> list[Review]: ...
    def new_cards_since(self, profile_id: int, since: datetime) -> int: ...
    # bookmarks
    def bookmarks(self, profile_id: int) -> set[str]: ...
    def set_bookmark(self, profile_id: int, question_id: str, on: bool) -> None: ...
    # interviews
    def save_interview(self, profile_id: int, started_at: datetime, finished_at: datetime, config: dict,
                       summary: dict, answers: Sequence[InterviewAnswer]) -> int: ...
    def interviews(self, profile_id: int, limit: int = 20) -> list[InterviewRecord]: ...
    def interview_answers(self, interview_id: int) -> list[InterviewAnswer]: ...
    # settings
    def get_setting(self, profile_id: int, key: str, default: Any = None) -> Any: ...
    def set_setting(self, profile_id: int, key: str, value: Any) -> None: ...
    # imported cards (the learner's own YAML bank)
    def imported_cards(self, profile_id: int) -> list[dict]: ...
    def replace_imported_cards(self, profile_id: int, cards: Sequence[dict]) -> None: ...


def db_path() -> Path:
    """Where progress lives: $TIL_DB, else data/progress.sqlite3 under the repo."""
    raw = os.environ.get("TIL_DB")
    return Path(raw).expanduser() if raw else DEFAULT_DB


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _now() -> datetime:
    return datetime.now(UTC)


def clean_name(name: str) -> str:
    """A learner name: trimmed, inner whitespace collapsed, at most MAX_NAME characters."""
    return " ".join(str(name).split())[:MAX_NAME]


class SQLiteStore:
    """ProgressStore on an embedded SQLite file (WAL, one connection per thread)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()
        self._local = threading.local()
        self._check_and_migrate()

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (durably) on exit, rolled back on error."""
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also after a failed COMMIT (e.g. the disk filled up)
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            fault = _write_fault(self.path, exc)
            if fault is None:
                raise
            raise fault from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- schema ------------------------------------------------------------------------------
    def _check_and_migrate(self) -> None:
        path = self.path
        if path.exists() and path.is_dir():
            raise StoreError(path, "is a folder, not a progress file")
        existed = path.exists() and path.stat().st_size > 0
        if existed:
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head != b"SQLite format 3\x00":
                raise StoreError(path, "is not an SQLite database (corrupt or another kind of file)")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = self._conn()
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            if existed and app_id != APPLICATION_ID and (tables or version):
                raise StoreError(path, "belongs to another application (unknown tables: "
                                 + ", ".join(sorted(tables)[:5]) + ")")
            if version > SCHEMA_VERSION:
                raise StoreError(path, f"was written by a newer version of this app "
                                 f"(schema {version} > {SCHEMA_VERSION})")
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
            if integrity != "ok":
                raise StoreError(path, f"is damaged (integrity check: {integrity})")
            conn.execute("PRAGMA journal_mode=WAL")
            if version < SCHEMA_VERSION:
                self._migrate(conn, version)
        except sqlite3.DatabaseError as exc:
            self.close()
            if _read_only(path):
                raise StoreWriteError(path, "is on a read-only disk or folder, so progress can't be saved there",
                                      "readonly") from exc
            fault = _write_fault(path, exc)
            if fault is not None and fault.kind == "full":
                raise fault from exc
            raise StoreError(path, f"can't be read as a progress database ({exc})") from exc
        except StoreError:
            self.close()
            raise

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for i in range(current, SCHEMA_VERSION):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version={i + 1}")
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    # -- profiles ----------------------------------------------------------------------------
    def profiles(self) -> list[Profile]:
        rows = self._conn().execute("SELECT id, name FROM profiles ORDER BY name COLLATE NOCASE")
        return [Profile(i, n) for i, n in rows]

    def get_or_create_profile(self, name: str) -> Profile:
        name = clean_name(name)
        if not name:
            raise ValueError("empty learner name")
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO profiles(name, created_at) VALUES (?, ?)", (name, _iso(_now())))
            pid = conn.execute("SELECT id FROM profiles WHERE name = ?", (name,)).fetchone()[0]
        return Profile(pid, name)

    # -- cards -------------------------------------------------------------------------------
    def card_int(self, question_id: str, candidate: int) -> int:
        """The fixed int id of a question's scheduler card (stored the first time it is asked)."""
        conn = self._conn()
        row = conn.execute("SELECT card_int FROM card_ids WHERE question_id = ?", (question_id,)).fetchone()
        if row:
            return row[0]
        with self._tx() as conn:
            row = conn.execute("SELECT card_int FROM card_ids WHERE question_id = ?", (question_id,)).fetchone()
            if row:
                return row[0]
            value = candidate
            while conn.execute("SELECT 1 FROM card_ids WHERE card_int = ?", (value,)).fetchone():
                value += 1  # hash collision: next free int, fixed from now on by the mapping
            conn.execute("INSERT INTO card_ids(question_id, card_int) VALUES (?, ?)", (question_id, value))
        return value

    def card_states(self, profile_id: int) -> dict[str, CardState]:
        rows = self._conn().execute(
            "SELECT question_id, card_json, state, due, stability FROM card_states WHERE profile_id = ?",
            (profile_id,))
        return {q: CardState(q, cj, s, _dt(d), st) for q, cj, s, d, st in rows}

    # -- reviews -----------------------------------------------------------------------------
    def record_review(self, profile_id: int, question_id: str, rating: int, reviewed_at: datetime,
                      prev_card_json: str | None, new_card_json: str, state: int, due: datetime,
                      stability: float | None, duration_ms: int | None = None) -> int:
        """Log a review and update the card's state in one durable transaction; returns its id."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO reviews(profile_id, question_id, rating, reviewed_at, duration_ms, "
                "prev_card_json, new_card_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (profile_id, question_id, int(rating), _iso(reviewed_at), duration_ms, prev_card_json,
                 new_card_json))
            conn.execute(
                "INSERT INTO card_states(profile_id, question_id, card_json, state, due, stability, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(profile_id, question_id) DO UPDATE SET "
                "card_json=excluded.card_json, state=excluded.state, due=excluded.due, "
                "stability=excluded.stability, updated_at=excluded.updated_at",
                (profile_id, question_id, new_card_json, int(state), _iso(due), stability, _iso(_now())))
            return int(cur.lastrowid)

    def undo_last_review(self, profile_id: int) -> Review | None:
        """Remove the learner's latest review and restore the card state before it."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT id, question_id, rating, reviewed_at, duration_ms, prev_card_json FROM reviews "
                "WHERE profile_id = ? ORDER BY id DESC LIMIT 1", (profile_id,)).fetchone()
            if row is None:
                return None
            rid, qid, rating, at, dur, prev = row
            conn.execute("DELETE FROM reviews WHERE id = ?", (rid,))
            if prev is None:
                conn.execute("DELETE FROM card_states WHERE profile_id = ? AND question_id = ?", (profile_id, qid))
            else:
                data = json.loads(prev)
                conn.execute(
                    "UPDATE card_states SET card_json=?, state=?, due=?, stability=?, updated_at=? "
                    "WHERE profile_id = ? AND question_id = ?",
                    (prev, data["state"], _iso(_dt(data["due"])), data.get("stability"), _iso(_now()),
                     profile_id, qid))
        return Review(rid, qid, rating, _dt(at), dur)

    def reviews(self, profile_id: int, since: datetime | None = None) -> list[Review]:
        sql = "SELECT id, question_id, rating, reviewed_at, duration_ms FROM reviews WHERE profile_id = ?"
        args: list[Any] = [profile_id]
        if since is not None:
            sql += " AND reviewed_at >= ?"
            args.append(_iso(since))
        rows = self._conn().execute(sql + " ORDER BY id", args)
        return [Review(i, q, r, _dt(a), d) for i, q, r, a, d in rows]

    def new_cards_since(self, profile_id: int, since: datetime) -> int:
        """How many cards had their very first review at or after `since` (fsrs has no 'new' state)."""
        row = self._conn().execute(
            "SELECT COUNT(*) FROM (SELECT MIN(reviewed_at) AS first FROM reviews WHERE profile_id = ? "
            "GROUP BY question_id) WHERE first >= ?", (profile_id, _iso(since))).fetchone()
        return int(row[0])

    # -- bookmarks ---------------------------------------------------------------------------
    def bookmarks(self, profile_id: int) -> set[str]:
        rows = self._conn().execute("SELECT question_id FROM bookmarks WHERE profile_id = ?", (profile_id,))
        return {r[0] for r in rows}

    def set_bookmark(self, profile_id: int, question_id: str, on: bool) -> None:
        with self._tx() as conn:
            if on:
                conn.execute("INSERT OR IGNORE INTO bookmarks(profile_id, question_id, created_at) VALUES (?, ?, ?)",
                             (profile_id, question_id, _iso(_now())))
            else:
                conn.execute("DELETE FROM bookmarks WHERE profile_id = ? AND question_id = ?",
                             (profile_id, question_id))

    # -- interviews --------------------------------------------------------------------------
    def save_interview(self, profile_id: int, started_at: datetime, finished_at: datetime, config: dict,
                       summary: dict, answers: Sequence[InterviewAnswer]) -> int:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO interviews(profile_id, started_at, finished_at, config_json, summary_json) "
                "VALUES (?, ?, ?, ?, ?)",
                (profile_id, _iso(started_at), _iso(finished_at), json.dumps(config, ensure_ascii=False),
                 json.dumps(summary, ensure_ascii=False)))
            iid = int(cur.lastrowid)
            conn.executemany(
                "INSERT INTO interview_answers(interview_id, idx, question_id, answer_text, audio, seconds, "
                "coverage, self_grade) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(iid, a.idx, a.question_id, a.answer_text, a.audio, a.seconds, a.coverage, a.self_grade)
                 for a in answers])
        return iid

    def interviews(self, profile_id: int, limit: int = 20) -> list[InterviewRecord]:
        rows = self._conn().execute(
            "SELECT id, started_at, finished_at, config_json, summary_json FROM interviews "
            "WHERE profile_id = ? ORDER BY id DESC LIMIT ?", (profile_id, limit))
        return [InterviewRecord(i, _dt(s), _dt(f), json.loads(c), json.loads(m)) for i, s, f, c, m in rows]

    def interview_answers(self, interview_id: int) -> list[InterviewAnswer]:
        rows = self._conn().execute(
            "SELECT idx, question_id, answer_text, audio, seconds, coverage, self_grade FROM interview_answers "
            "WHERE interview_id = ? ORDER BY idx", (interview_id,))
        return [InterviewAnswer(*r) for r in rows]

    # -- settings ----------------------------------------------------------------------------
    def get_setting(self, profile_id: int, key: str, default: Any = None) -> Any:
        row = self._conn().execute("SELECT value_json FROM settings WHERE profile_id = ? AND key = ?",
                                   (profile_id, key)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, profile_id: int, key: str, value: Any) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO settings(profile_id, key, value_json) VALUES (?, ?, ?) "
                         "ON CONFLICT(profile_id, key) DO UPDATE SET value_json = excluded.value_json",
                         (profile_id, key, json.dumps(value)))

    # -- imported cards ----------------------------------------------------------------------
    def imported_cards(self, profile_id: int) -> list[dict]:
        rows = self._conn().execute(
            "SELECT card_json FROM imported_cards WHERE profile_id = ? ORDER BY question_id", (profile_id,))
        return [json.loads(r[0]) for r in rows]

    def replace_imported_cards(self, profile_id: int, cards: Sequence[dict]) -> None:
        """Add (or update) the given cards in one transaction: all of them or none."""
        now = _iso(_now())
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO imported_cards(profile_id, question_id, card_json, imported_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(profile_id, question_id) DO UPDATE SET card_json = excluded.card_json, "
                "imported_at = excluded.imported_at",
                [(profile_id, c["id"], json.dumps(c, ensure_ascii=False), now) for c in cards])


# -- the active learner's bookmarks, for the shared card renderer (ui/cards.py) ---------------------
_active = threading.local()


class ProfileBookmarks:
    """A learner's bookmarks with the interface ui.cards expects (is/set/bookmarked)."""

    def __init__(self, store: ProgressStore, profile_id: int) -> None:
        self.store = store
        self.profile_id = profile_id

    def is_bookmarked(self, card_id: str) -> bool:
        return card_id in self.store.bookmarks(self.profile_id)

    def set_bookmarked(self, card_id: str, on: bool) -> None:
        self.store.set_bookmark(self.profile_id, card_id, on)

    def bookmarked(self) -> set[str]:
        return self.store.bookmarks(self.profile_id)


def set_active(store: ProgressStore | None, profile_id: int | None) -> None:
    """Remember the learner of the current thread (one Streamlit script run)."""
    _active.value = (store, profile_id) if store is not None and profile_id is not None else None


def bookmarks() -> ProfileBookmarks:
    """Bookmarks of the learner active in this thread; raises LookupError when none is."""
    value = getattr(_active, "value", None)
    if value is None:
        raise LookupError("no active learner")
    return ProfileBookmarks(*value)
