"""Open the progress store a target names: `open_store(target)` picks the backend.

A `postgresql://` (or `postgres://`) URL opens `study.pg_store.PostgresStore`; anything else is an
SQLite file (`study.store.SQLiteStore`). Kept apart from both backends so that neither imports the
other's module (the PostgreSQL store builds on `study.store.SQLStore`).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from study.store import ProgressStore, SQLiteStore, StoreError, db_target, is_postgres_url, masked


def open_store(target: str | Path | None = None) -> ProgressStore:
    """The progress store at `target` (default $TIL_DB): a PostgreSQL database for a
    postgresql:// or postgres:// URL, else an SQLite file. Raises StoreError when it can't be used."""
    target = db_target() if target is None else target
    if not is_postgres_url(target):
        return SQLiteStore(target)
    if importlib.util.find_spec("psycopg") is None:
        raise StoreError(masked(target), "needs the psycopg package; run pip install -r requirements.txt",
                         backend="postgres")
    from study.pg_store import PostgresStore  # psycopg is imported only when PostgreSQL is used

    return PostgresStore(str(target))
