"""The progress store: every learner's reviews, card states, bookmarks, interviews and settings.

One narrow interface (`ProgressStore`) and two implementations that share every method
(`SQLStore`, written once in the SQL both databases understand): `SQLiteStore`, an embedded
SQLite file (the default), and `study.pg_store.PostgresStore`, a PostgreSQL database that several
app processes or hosts share. `open_store(target)` picks one: a `postgresql://` (or
`postgres://`) URL in $TIL_DB means PostgreSQL, anything else is an SQLite file. Nothing outside
these two modules writes SQL.

The tables are `SCHEMA` (one entry a version), with each backend's column types filled in.

Durability: every write is its own transaction, committed (SQLite: WAL, synchronous=FULL) before
the method returns, so a review the UI has acknowledged survives a `kill -9` of the server.
Several sessions (threads or processes) may write at once: with SQLite each thread has its own
connection and waits up to `BUSY_TIMEOUT_MS` for the write lock.

The file is identified by `PRAGMA application_id` and versioned by `PRAGMA user_version`
(migrations in `MIGRATIONS`). A file that is not SQLite, belongs to another application, or
comes from a newer version of this app raises `StoreError` and is left untouched. (PostgreSQL:
see study/pg_store.py.)

Faults: a write the disk refuses (full disk, read-only file or folder, I/O error, lock held too
long) raises `StoreWriteError` (a `StoreError`) with a plain reason; the transaction is rolled
back, so nothing half-written stays and everything committed before is still there. A progress
file on a read-only disk or folder is refused at open with a reason that says so.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = ROOT / "data" / "progress.sqlite3"
APPLICATION_ID = 0x54494C31  # "TIL1"
BUSY_TIMEOUT_MS = 15000
MAX_NAME = 40

# The tables, written once for both databases: each entry migrates version i -> i + 1 (SQLite's
# user_version, PostgreSQL's schema_version table), with the column types of the backend filled in.
SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE profiles (
        id {ID},
        name {KEY} NOT NULL UNIQUE,
        created_at {TS} NOT NULL
    );
    CREATE TABLE card_ids (
        question_id {KEY} PRIMARY KEY,
        card_int {BIGINT} NOT NULL UNIQUE
    );
    CREATE TABLE card_states (
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        question_id {KEY} NOT NULL,
        card_json TEXT NOT NULL,
        state INTEGER NOT NULL,
        due {TS} NOT NULL,
        stability {REAL},
        updated_at {TS} NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    CREATE TABLE reviews (
        id {ID},
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        question_id {KEY} NOT NULL,
        rating INTEGER NOT NULL,
        reviewed_at {TS} NOT NULL,
        duration_ms INTEGER,
        prev_card_json TEXT,
        new_card_json TEXT NOT NULL
    );
    CREATE INDEX reviews_profile_time ON reviews(profile_id, reviewed_at);
    CREATE TABLE bookmarks (
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        question_id {KEY} NOT NULL,
        created_at {TS} NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    CREATE TABLE interviews (
        id {ID},
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        started_at {TS} NOT NULL,
        finished_at {TS} NOT NULL,
        config_json TEXT NOT NULL,
        summary_json TEXT NOT NULL
    );
    CREATE TABLE interview_answers (
        interview_id {REF} NOT NULL REFERENCES interviews(id),
        idx INTEGER NOT NULL,
        question_id {KEY} NOT NULL,
        answer_text TEXT NOT NULL,
        audio {BLOB},
        seconds {REAL} NOT NULL,
        coverage {REAL} NOT NULL,
        self_grade INTEGER,
        PRIMARY KEY (interview_id, idx)
    );
    CREATE TABLE settings (
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        key {KEY} NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (profile_id, key)
    );
    CREATE TABLE imported_cards (
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        question_id {KEY} NOT NULL,
        card_json TEXT NOT NULL,
        imported_at {TS} NOT NULL,
        PRIMARY KEY (profile_id, question_id)
    );
    """,
    # v2: hand-written code drills (drills/): every graded attempt, with the code and the result.
    """
    CREATE TABLE drill_attempts (
        id {ID},
        profile_id {REF} NOT NULL REFERENCES profiles(id),
        drill_id {KEY} NOT NULL,
        code TEXT NOT NULL,
        passed INTEGER NOT NULL,
        result_json TEXT NOT NULL,
        revealed INTEGER NOT NULL DEFAULT 0,
        created_at {TS} NOT NULL
    );
    CREATE INDEX drill_attempts_profile ON drill_attempts(profile_id, drill_id, created_at);
    """,
)
SQLITE_TYPES = {"ID": "INTEGER PRIMARY KEY AUTOINCREMENT", "REF": "INTEGER", "BIGINT": "INTEGER", "KEY": "TEXT",
                "TS": "TEXT", "BLOB": "BLOB", "REAL": "REAL"}
MIGRATIONS: tuple[str, ...] = tuple(step.format(**SQLITE_TYPES) for step in SCHEMA)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The progress file can't be used (not SQLite, another app's, newer version). It is kept.
    `path` is the file, or the database URL with its password masked; `backend` is "sqlite" or
    "postgres" (the page words its message for a file or for a database server); `kind` is set
    when the cause is one of StoreWriteError's kinds (e.g. a read while the server is down)."""

    def __init__(self, path: Path | str, reason: str, *, backend: str = "sqlite", kind: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.backend = backend
        self.kind = kind
        super().__init__(f"{path}: {reason}")


class StoreWriteError(StoreError):
    """A write was refused (disk full, read-only, I/O error, busy, server unreachable); it was
    rolled back, earlier progress is intact. `kind` is "full" | "readonly" | "io" | "busy" |
    "unreachable" (PostgreSQL only) | "other"."""

    def __init__(self, path: Path | str, reason: str, kind: str, *, backend: str = "sqlite") -> None:
        super().__init__(path, reason, backend=backend, kind=kind)


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


def is_postgres_url(target: str | Path) -> bool:
    return str(target).lower().startswith(("postgresql://", "postgres://"))


def db_target() -> str:
    """$TIL_DB as a store target: a PostgreSQL URL as given, else the SQLite file's absolute path."""
    raw = os.environ.get("TIL_DB", "")
    return raw if is_postgres_url(raw) else str(db_path().resolve())


def masked(target: str | Path) -> str:
    """A store target as it may be shown: a URL's password (user:PASSWORD@ or ?password=) is ***."""
    text = str(target)
    if not is_postgres_url(text):
        return text
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def open_store(target: str | Path | None = None) -> ProgressStore:
    """The progress store at `target` (default $TIL_DB): a PostgreSQL database for a
    postgresql:// or postgres:// URL, else an SQLite file. Raises StoreError when it can't be used."""
    target = db_target() if target is None else target
    if not is_postgres_url(target):
        return SQLiteStore(target)
    try:
        from study.pg_store import PostgresStore
    except ImportError as exc:
        raise StoreError(masked(target), f"needs the psycopg package ({exc}); run pip install -r requirements.txt",
                         backend="postgres") from exc
    return PostgresStore(str(target))


def _utc(dt: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).isoformat(timespec="microseconds")


def _dt(value: str | datetime) -> datetime:
    """A stored timestamp (SQLite: ISO-8601 UTC text; PostgreSQL: timestamptz) as aware UTC."""
    return _utc(value) if isinstance(value, datetime) else datetime.fromisoformat(value)


def _now() -> datetime:
    return datetime.now(UTC)


def clean_name(name: str) -> str:
    """A learner name: trimmed, inner whitespace collapsed, at most MAX_NAME characters."""
    return " ".join(str(name).split())[:MAX_NAME]


class SQLStore:
    """The ProgressStore methods, written once in the SQL that SQLite and PostgreSQL both read.

    A backend provides `_tx()` (one write transaction, committed on exit, yielding an object with
    sqlite3-style `execute(sql, args)` / `executemany(sql, rows)`; `?` placeholders), `_rows(sql,
    args)` (a read, all rows), `_ts(dt)` (a timestamp as a query parameter) and
    `_lock_profile(tx, profile_id)` (serialise one learner's undo). Rows come back as tuples and
    are turned into the dataclasses here, so both backends return exactly the same values.
    """

    path: Any

    def _tx(self) -> contextlib.AbstractContextManager[Any]:
        raise NotImplementedError

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _ts(self, dt: datetime) -> Any:
        raise NotImplementedError

    def _lock_profile(self, tx: Any, profile_id: int) -> None:
        """Nothing by default: SQLite's BEGIN IMMEDIATE already serialises all writers."""

    # -- profiles ----------------------------------------------------------------------------
    def profiles(self) -> list[Profile]:
        # lower() folds ASCII only in both databases (PostgreSQL: the column's "C" collation),
        # i.e. SQLite's NOCASE; ties in byte order
        return [Profile(i, n) for i, n in self._rows("SELECT id, name FROM profiles ORDER BY lower(name), name")]

    def get_or_create_profile(self, name: str) -> Profile:
        name = clean_name(name)
        if not name:
            raise ValueError("empty learner name")
        with self._tx() as tx:
            tx.execute("INSERT INTO profiles(name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                       (name, self._ts(_now())))
            pid = tx.execute("SELECT id FROM profiles WHERE name = ?", (name,)).fetchone()[0]
        return Profile(pid, name)

    # -- cards -------------------------------------------------------------------------------
    def card_int(self, question_id: str, candidate: int) -> int:
        """The fixed int id of a question's scheduler card (stored the first time it is asked)."""
        select = "SELECT card_int FROM card_ids WHERE question_id = ?"
        found = self._rows(select, (question_id,))
        if found:
            return found[0][0]
        with self._tx() as tx:
            value = candidate
            while True:
                inserted = tx.execute("INSERT INTO card_ids(question_id, card_int) VALUES (?, ?) "
                                      "ON CONFLICT DO NOTHING RETURNING card_int", (question_id, value)).fetchall()
                if inserted:
                    return inserted[0][0]
                row = tx.execute(select, (question_id,)).fetchone()
                if row:  # another session mapped this question first
                    return row[0]
                value += 1  # hash collision: next free int, fixed from now on by the mapping

    def card_states(self, profile_id: int) -> dict[str, CardState]:
        rows = self._rows("SELECT question_id, card_json, state, due, stability FROM card_states "
                          "WHERE profile_id = ?", (profile_id,))
        return {q: CardState(q, cj, s, _dt(d), st) for q, cj, s, d, st in rows}

    # -- reviews -----------------------------------------------------------------------------
    def record_review(self, profile_id: int, question_id: str, rating: int, reviewed_at: datetime,
                      prev_card_json: str | None, new_card_json: str, state: int, due: datetime,
                      stability: float | None, duration_ms: int | None = None) -> int:
        """Log a review and update the card's state in one durable transaction; returns its id."""
        with self._tx() as tx:
            [(rid,)] = tx.execute(
                "INSERT INTO reviews(profile_id, question_id, rating, reviewed_at, duration_ms, "
                "prev_card_json, new_card_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (profile_id, question_id, int(rating), self._ts(reviewed_at), duration_ms, prev_card_json,
                 new_card_json)).fetchall()
            tx.execute(
                "INSERT INTO card_states(profile_id, question_id, card_json, state, due, stability, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(profile_id, question_id) DO UPDATE SET "
                "card_json=excluded.card_json, state=excluded.state, due=excluded.due, "
                "stability=excluded.stability, updated_at=excluded.updated_at",
                (profile_id, question_id, new_card_json, int(state), self._ts(due), stability, self._ts(_now())))
        return int(rid)

    def undo_last_review(self, profile_id: int) -> Review | None:
        """Remove the learner's latest review and restore the card state before it."""
        with self._tx() as tx:
            self._lock_profile(tx, profile_id)  # two tabs never undo the same review
            row = tx.execute(
                "SELECT id, question_id, rating, reviewed_at, duration_ms, prev_card_json FROM reviews "
                "WHERE profile_id = ? ORDER BY id DESC LIMIT 1", (profile_id,)).fetchone()
            if row is None:
                return None
            rid, qid, rating, at, dur, prev = row
            tx.execute("DELETE FROM reviews WHERE id = ?", (rid,))
            if prev is None:
                tx.execute("DELETE FROM card_states WHERE profile_id = ? AND question_id = ?", (profile_id, qid))
            else:
                data = json.loads(prev)
                tx.execute(
                    "UPDATE card_states SET card_json=?, state=?, due=?, stability=?, updated_at=? "
                    "WHERE profile_id = ? AND question_id = ?",
                    (prev, data["state"], self._ts(_dt(data["due"])), data.get("stability"), self._ts(_now()),
                     profile_id, qid))
        return Review(rid, qid, rating, _dt(at), dur)

    def reviews(self, profile_id: int, since: datetime | None = None) -> list[Review]:
        sql = "SELECT id, question_id, rating, reviewed_at, duration_ms FROM reviews WHERE profile_id = ?"
        args: list[Any] = [profile_id]
        if since is not None:
            sql += " AND reviewed_at >= ?"
            args.append(self._ts(since))
        return [Review(i, q, r, _dt(a), d) for i, q, r, a, d in self._rows(sql + " ORDER BY id", args)]

    def new_cards_since(self, profile_id: int, since: datetime) -> int:
        """How many cards had their very first review at or after `since` (fsrs has no 'new' state)."""
        [(count,)] = self._rows(
            "SELECT COUNT(*) FROM (SELECT MIN(reviewed_at) AS first_at FROM reviews WHERE profile_id = ? "
            "GROUP BY question_id) AS firsts WHERE first_at >= ?", (profile_id, self._ts(since)))
        return int(count)

    # -- bookmarks ---------------------------------------------------------------------------
    def bookmarks(self, profile_id: int) -> set[str]:
        return {r[0] for r in self._rows("SELECT question_id FROM bookmarks WHERE profile_id = ?", (profile_id,))}

    def set_bookmark(self, profile_id: int, question_id: str, on: bool) -> None:
        with self._tx() as tx:
            if on:
                tx.execute("INSERT INTO bookmarks(profile_id, question_id, created_at) VALUES (?, ?, ?) "
                           "ON CONFLICT DO NOTHING", (profile_id, question_id, self._ts(_now())))
            else:
                tx.execute("DELETE FROM bookmarks WHERE profile_id = ? AND question_id = ?",
                           (profile_id, question_id))

    # -- interviews --------------------------------------------------------------------------
    def save_interview(self, profile_id: int, started_at: datetime, finished_at: datetime, config: dict,
                       summary: dict, answers: Sequence[InterviewAnswer]) -> int:
        with self._tx() as tx:
            [(iid,)] = tx.execute(
                "INSERT INTO interviews(profile_id, started_at, finished_at, config_json, summary_json) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (profile_id, self._ts(started_at), self._ts(finished_at), json.dumps(config, ensure_ascii=False),
                 json.dumps(summary, ensure_ascii=False))).fetchall()
            tx.executemany(
                "INSERT INTO interview_answers(interview_id, idx, question_id, answer_text, audio, seconds, "
                "coverage, self_grade) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(iid, a.idx, a.question_id, a.answer_text, a.audio, a.seconds, a.coverage, a.self_grade)
                 for a in answers])
        return int(iid)

    def interviews(self, profile_id: int, limit: int = 20) -> list[InterviewRecord]:
        rows = self._rows("SELECT id, started_at, finished_at, config_json, summary_json FROM interviews "
                          "WHERE profile_id = ? ORDER BY id DESC LIMIT ?", (profile_id, limit))
        return [InterviewRecord(i, _dt(s), _dt(f), json.loads(c), json.loads(m)) for i, s, f, c, m in rows]

    def interview_answers(self, interview_id: int) -> list[InterviewAnswer]:
        rows = self._rows(
            "SELECT idx, question_id, answer_text, audio, seconds, coverage, self_grade FROM interview_answers "
            "WHERE interview_id = ? ORDER BY idx", (interview_id,))
        return [InterviewAnswer(i, q, t, None if a is None else bytes(a), s, c, g) for i, q, t, a, s, c, g in rows]

    # -- settings ----------------------------------------------------------------------------
    def get_setting(self, profile_id: int, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value_json FROM settings WHERE profile_id = ? AND key = ?", (profile_id, key))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, profile_id: int, key: str, value: Any) -> None:
        with self._tx() as tx:
            tx.execute("INSERT INTO settings(profile_id, key, value_json) VALUES (?, ?, ?) "
                       "ON CONFLICT(profile_id, key) DO UPDATE SET value_json = excluded.value_json",
                       (profile_id, key, json.dumps(value)))

    # -- imported cards ----------------------------------------------------------------------
    def imported_cards(self, profile_id: int) -> list[dict]:
        rows = self._rows("SELECT card_json FROM imported_cards WHERE profile_id = ? ORDER BY question_id",
                          (profile_id,))
        return [json.loads(r[0]) for r in rows]

    def replace_imported_cards(self, profile_id: int, cards: Sequence[dict]) -> None:
        """Add (or update) the given cards in one transaction: all of them or none."""
        now = self._ts(_now())
        with self._tx() as tx:
            tx.executemany(
                "INSERT INTO imported_cards(profile_id, question_id, card_json, imported_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(profile_id, question_id) DO UPDATE SET card_json = excluded.card_json, "
                "imported_at = excluded.imported_at",
                [(profile_id, c["id"], json.dumps(c, ensure_ascii=False), now) for c in cards])


class SQLiteStore(SQLStore):
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

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self._conn().execute(sql, args).fetchall()

    def _ts(self, dt: datetime) -> str:
        return _iso(dt)  # ISO-8601 UTC text with microseconds: sorts like the instants it names

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
