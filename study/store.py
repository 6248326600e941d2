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
import secrets
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    # v3: identity (docs/SECURITY.md). name_key: the name folded by `name_key()` (NFKC, casefold),
    # unique, so "Alice" and "ALICE" are one learner; older rows get lower(name) (a later duplicate
    # keeps a key no clean name can have: two spaces), refined in Python at open (`_rekey`).
    # secret_hash: an optional PIN or passphrase (study.identity, scrypt). guest: made for a new
    # session that had not chosen a learner (empty ones are pruned).
    """
    ALTER TABLE profiles ADD COLUMN name_key {KEY};
    ALTER TABLE profiles ADD COLUMN secret_hash TEXT;
    ALTER TABLE profiles ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
    UPDATE profiles SET name_key = lower(name) WHERE id IN (SELECT min(id) FROM profiles GROUP BY lower(name));
    UPDATE profiles SET name_key = lower(name) || '  #' || id WHERE name_key IS NULL;
    CREATE UNIQUE INDEX profiles_by_name_key ON profiles(name_key);
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
    guest: bool = False
    has_secret: bool = False


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
class DrillAttempt:
    id: int
    drill_id: str
    code: str
    passed: bool
    result: dict
    revealed: bool
    created_at: datetime


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
    def create_profile(self, name: str, secret_hash: str | None = None) -> Profile: ...
    def create_guest(self, prune_after: timedelta = ...) -> Profile: ...
    def profile_by_name(self, name: str) -> Profile | None: ...
    def profile_by_id(self, profile_id: int) -> Profile | None: ...
    def rename_profile(self, profile_id: int, name: str) -> Profile: ...
    def secret_hash(self, profile_id: int) -> str | None: ...
    def set_secret_hash(self, profile_id: int, secret_hash: str | None) -> None: ...
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
    def delete_imported_cards(self, profile_id: int, question_ids: Sequence[str] | None = None) -> int: ...
    def remove_profile(self, profile_id: int) -> None: ...
    # coding drills (drills/): graded attempts
    def record_drill_attempt(self, profile_id: int, drill_id: str, code: str, passed: bool, result: dict,
                             revealed: bool = False, created_at: datetime | None = None) -> int: ...
    def drill_attempts(self, profile_id: int, drill_id: str | None = None) -> list[DrillAttempt]: ...
    def drill_status(self, profile_id: int) -> dict[str, str]: ...
    def last_drill_code(self, profile_id: int, drill_id: str) -> str | None: ...


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


class BadName(ValueError):
    """A learner name that is refused; `kind`: "empty" | "control" | "long" | "taken"."""

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        super().__init__(reason)


# Unicode categories refused in names: controls (Cc: NUL, ESC, ...), format characters (Cf:
# bidi overrides such as U+202E, zero-width joiners and spaces, soft hyphen), surrogates,
# private use and unassigned code points. They make two different names look alike.
_REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn")


def clean_name(name: str) -> str:
    """A learner name as stored: NFKC-normalised, trimmed, inner whitespace collapsed.

    Raises BadName: empty, a control or format character (bidi, zero-width, NUL...), or longer
    than MAX_NAME characters (refused rather than cut: a cut name could match someone else's)."""
    text = unicodedata.normalize("NFKC", str(name))
    bad = sorted({f"U+{ord(ch):04X}" for ch in text
                  if unicodedata.category(ch) in _REFUSED_CATEGORIES and not ch.isspace()})
    if bad:
        raise BadName("control", "the name contains invisible or control characters (" + ", ".join(bad[:5]) + ")")
    text = " ".join(text.split())
    if not text:
        raise BadName("empty", "the name is empty")
    if len(text) > MAX_NAME:
        raise BadName("long", f"the name is longer than {MAX_NAME} characters")
    return text


def name_key(name: str) -> str:
    """The key two names must not share: the clean name, NFKC-casefolded ("Alice" = "ＡＬＩＣＥ")."""
    return unicodedata.normalize("NFKC", clean_name(name).casefold())


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
    _PROFILE_COLS = "id, name, guest, secret_hash IS NOT NULL"

    def profiles(self) -> list[Profile]:
        # lower() folds ASCII only in both databases (PostgreSQL: the column's "C" collation),
        # i.e. SQLite's NOCASE; ties in byte order
        return [Profile(i, n, bool(g), bool(h)) for i, n, g, h in
                self._rows(f"SELECT {self._PROFILE_COLS} FROM profiles ORDER BY lower(name), name")]

    def profile_by_name(self, name: str) -> Profile | None:
        """The learner whose name folds to the same key (case, width, spacing), or None."""
        try:
            key = name_key(name)
        except BadName:
            return None
        rows = self._rows(f"SELECT {self._PROFILE_COLS} FROM profiles WHERE name_key = ?", (key,))
        return Profile(rows[0][0], rows[0][1], bool(rows[0][2]), bool(rows[0][3])) if rows else None

    def profile_by_id(self, profile_id: int) -> Profile | None:
        rows = self._rows(f"SELECT {self._PROFILE_COLS} FROM profiles WHERE id = ?", (profile_id,))
        return Profile(rows[0][0], rows[0][1], bool(rows[0][2]), bool(rows[0][3])) if rows else None

    def _insert_profile(self, name: str, *, guest: bool = False, secret_hash: str | None = None) -> Profile | None:
        """Insert a learner; None when the name's key is taken."""
        name = clean_name(name)
        with self._tx() as tx:
            rows = tx.execute("INSERT INTO profiles(name, name_key, created_at, guest, secret_hash) "
                              "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                              (name, name_key(name), self._ts(_now()), int(guest), secret_hash)).fetchall()
        return Profile(rows[0][0], name, guest, secret_hash is not None) if rows else None

    def create_profile(self, name: str, secret_hash: str | None = None) -> Profile:
        """A new learner; BadName when the name is refused or taken (case-insensitively)."""
        made = self._insert_profile(name, secret_hash=secret_hash)
        if made is None:
            raise BadName("taken", "a learner with this name already exists")
        return made

    def get_or_create_profile(self, name: str) -> Profile:
        """The learner of this name (case-insensitively), created when there is none. BadName when
        the name is refused. For tools (the instructor CLI, tests): the app's pages never use it
        to let a session in (see ui/profile.py)."""
        for _ in range(3):  # another writer may create or remove the same name in between
            made = self._insert_profile(name)
            if made is not None:
                return made
            found = self.profile_by_name(name)
            if found is not None:
                return found
        raise BadName("taken", "a learner with this name already exists")

    def create_guest(self, prune_after: timedelta = timedelta(days=1)) -> Profile:
        """A new guest learner ("Guest 1234") for a session that has not chosen one; guests that
        saved nothing and are older than `prune_after` are removed first."""
        self.prune_guests(prune_after)
        for _ in range(50):
            made = self._insert_profile(f"Guest {secrets.randbelow(90000) + 10000}", guest=True)
            if made is not None:
                return made
        raise BadName("taken", "no free guest name")

    def prune_guests(self, older_than: timedelta) -> int:
        """Remove guest learners created before now - older_than that have nothing stored."""
        empty = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.profile_id = profiles.id)"
                             for t in (*self.PROFILE_TABLES, "interviews"))
        with self._tx() as tx:
            cur = tx.execute(f"DELETE FROM profiles WHERE guest = 1 AND created_at < ? AND {empty}",
                             (self._ts(_now() - older_than),))
            return max(cur.rowcount, 0)

    def secret_hash(self, profile_id: int) -> str | None:
        rows = self._rows("SELECT secret_hash FROM profiles WHERE id = ?", (profile_id,))
        return rows[0][0] if rows else None

    def set_secret_hash(self, profile_id: int, secret_hash: str | None) -> None:
        """Set or clear (None) a learner's PIN/passphrase hash (study.identity.hash_secret)."""
        with self._tx() as tx:
            tx.execute("UPDATE profiles SET secret_hash = ? WHERE id = ?", (secret_hash, profile_id))

    def rename_profile(self, profile_id: int, name: str) -> Profile:
        """Give a learner (e.g. a guest) a name of their own; BadName when refused or taken."""
        name = clean_name(name)
        with self._tx() as tx:
            taken = tx.execute("SELECT id FROM profiles WHERE name_key = ? AND id <> ?",
                               (name_key(name), profile_id)).fetchall()
            if taken:
                raise BadName("taken", "a learner with this name already exists")
            tx.execute("UPDATE profiles SET name = ?, name_key = ?, guest = 0 WHERE id = ?",
                       (name, name_key(name), profile_id))
        found = self.profile_by_id(profile_id)
        assert found is not None
        return found

    def _rekey(self) -> None:
        """After the v3 migration: the keys of older rows computed by `name_key` (SQL's lower()
        folds ASCII only); a key another learner already holds is left as it is."""
        rows = self._rows("SELECT id, name, name_key FROM profiles")
        used = {k for _, _, k in rows}
        for pid, name, key in rows:
            try:
                want = name_key(name)
            except BadName:
                continue
            if want != key and want not in used and "  #" not in key:
                with self._tx() as tx:
                    tx.execute("UPDATE profiles SET name_key = ? WHERE id = ?", (want, pid))
                used.add(want)

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

    def delete_imported_cards(self, profile_id: int, question_ids: Sequence[str] | None = None) -> int:
        """Delete some of a learner's imported cards (all of them when `question_ids` is None); how many
        were deleted. Their review history stays (it is the learner's progress, not the card)."""
        with self._tx() as tx:
            if question_ids is None:
                cur = tx.execute("DELETE FROM imported_cards WHERE profile_id = ?", (profile_id,))
                return max(cur.rowcount, 0)
            n = 0
            for qid in dict.fromkeys(question_ids):
                cur = tx.execute("DELETE FROM imported_cards WHERE profile_id = ? AND question_id = ?",
                                 (profile_id, qid))
                n += max(cur.rowcount, 0)
            return n

    # -- removing a learner (the instructor CLI) ---------------------------------------------
    # every table that holds a learner's rows, children before parents
    PROFILE_TABLES = ("card_states", "reviews", "bookmarks", "settings", "imported_cards", "drill_attempts")

    def remove_profile(self, profile_id: int) -> None:
        """Delete a learner and everything stored for them, in one transaction."""
        with self._tx() as tx:
            tx.execute("DELETE FROM interview_answers WHERE interview_id IN "
                       "(SELECT id FROM interviews WHERE profile_id = ?)", (profile_id,))
            tx.execute("DELETE FROM interviews WHERE profile_id = ?", (profile_id,))
            for table in self.PROFILE_TABLES:
                tx.execute(f"DELETE FROM {table} WHERE profile_id = ?", (profile_id,))
            tx.execute("DELETE FROM profiles WHERE id = ?", (profile_id,))


    # -- coding drills -----------------------------------------------------------------------
    def record_drill_attempt(self, profile_id: int, drill_id: str, code: str, passed: bool, result: dict,
                             revealed: bool = False, created_at: datetime | None = None) -> int:
        """Log one graded run of a drill (the code, the grader's result, whether the reference
        solution had been revealed before); returns its id."""
        with self._tx() as tx:
            [(aid,)] = tx.execute(
                "INSERT INTO drill_attempts(profile_id, drill_id, code, passed, result_json, revealed, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (profile_id, drill_id, code, int(bool(passed)), json.dumps(result, ensure_ascii=False),
                 int(bool(revealed)), self._ts(created_at or _now()))).fetchall()
        return int(aid)

    def drill_attempts(self, profile_id: int, drill_id: str | None = None) -> list[DrillAttempt]:
        """A learner's attempts, oldest first (of one drill, or of all)."""
        sql = ("SELECT id, drill_id, code, passed, result_json, revealed, created_at FROM drill_attempts "
               "WHERE profile_id = ?")
        args: list[Any] = [profile_id]
        if drill_id is not None:
            sql += " AND drill_id = ?"
            args.append(drill_id)
        return [DrillAttempt(i, d, c, bool(p), json.loads(r), bool(rv), _dt(t))
                for i, d, c, p, r, rv, t in self._rows(sql + " ORDER BY id", args)]

    def drill_status(self, profile_id: int) -> dict[str, str]:
        """{drill_id: "passed" | "failing"} for every drill the learner has run (passed once = passed)."""
        rows = self._rows("SELECT drill_id, MAX(passed) FROM drill_attempts WHERE profile_id = ? GROUP BY drill_id",
                          (profile_id,))
        return {d: "passed" if p else "failing" for d, p in rows}

    def last_drill_code(self, profile_id: int, drill_id: str) -> str | None:
        rows = self._rows("SELECT code FROM drill_attempts WHERE profile_id = ? AND drill_id = ? "
                          "ORDER BY id DESC LIMIT 1", (profile_id, drill_id))
        return rows[0][0] if rows else None


class SQLiteStore(SQLStore):
    """ProgressStore on an embedded SQLite file (WAL, one connection per thread)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()
        self._local = threading.local()
        self._check_and_migrate()
        self._rekey()

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
