"""The PostgreSQL progress store against a real server (tests/pgserver.py, Debian's postgresql).

The contract shared with SQLite (every method, threads, processes, kill -9) runs on both
backends in tests/test_study_store.py and tests/test_faults_store.py. Here: what only a server
has: the schema and its version table, foreign or newer databases, URL selection and password
masking, many store objects writing the same learner at once, a server stopped mid-session, a
read-only database, lock and pool timeouts, and the flashcards page saving into PostgreSQL.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fsrs import Rating

from study import scheduler as sched
from study.pg_store import PostgresStore
from study.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    SQLiteStore,
    StoreError,
    StoreWriteError,
    db_target,
    is_postgres_url,
    masked,
)
from study.stores import open_store
from tests.pgserver import PASSWORD, PgServer, start_server
from tests.test_faults_store import open_page, rate_current


def query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


@pytest.fixture()
def pg(pg_url: str) -> Iterator[PostgresStore]:
    store = open_store(pg_url)
    yield store
    store.close()


@pytest.fixture()
def server_restarted(pg_server: PgServer, pg_url: str) -> Iterator[PgServer]:
    """The session's server, running again after a test that stops it (before `pg_url`'s
    database is dropped: this fixture is set up after it, so torn down before it)."""
    yield pg_server
    if not pg_server.data.joinpath("postmaster.pid").exists():
        pg_server.start()


def test_missing_server_binaries_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pg_server fixture turns this into a failure (pytest.fail), never a skip."""
    monkeypatch.setattr("tests.pgserver.binaries", lambda: None)
    with pytest.raises(RuntimeError, match="install Debian's postgresql package"):
        start_server()


# ---------------------------------------------------------------------------------------------
# schema, selection, masking

def test_schema_is_created_versioned_and_marked(pg_url: str) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore) and store.schema_version() == SCHEMA_VERSION
    assert query(pg_url, "SELECT application_id, version FROM schema_version") == [(APPLICATION_ID, SCHEMA_VERSION)]
    types = dict(query(pg_url, "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                               "WHERE table_schema = 'public'"))
    assert types["reviews.reviewed_at"] == "timestamp with time zone"
    assert types["interview_answers.audio"] == "bytea" and types["card_ids.card_int"] == "bigint"
    assert types["card_states.stability"] == "double precision"
    # reopening migrates nothing twice; several processes opening a fresh database at once agree
    store.get_or_create_profile("x")
    assert [p.name for p in open_store(pg_url).profiles()] == ["x"]
    assert query(pg_url, "SELECT count(*) FROM schema_version") == [(1,)]


def test_concurrent_first_opens_migrate_once(pg_url: str) -> None:
    results: list[object] = []

    def opener() -> None:
        try:
            results.append(open_store(pg_url).schema_version())
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [SCHEMA_VERSION] * 6
    assert query(pg_url, "SELECT count(*) FROM schema_version") == [(1,)]


def test_foreign_database_is_refused_and_kept(pg_url: str) -> None:
    query(pg_url, "CREATE TABLE invoices (id INTEGER, total REAL); INSERT INTO invoices VALUES (1, 9.5)")
    with pytest.raises(StoreError) as exc:
        open_store(pg_url)
    assert "another application" in exc.value.reason and "invoices" in exc.value.reason
    assert exc.value.backend == "postgres" and PASSWORD not in str(exc.value)
    assert query(pg_url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'") == [
        ("invoices",)]
    # another tool's table called schema_version (e.g. an old Flyway) is not this app's either
    query(pg_url, "DROP TABLE invoices; CREATE TABLE schema_version (installed_rank INTEGER)")
    with pytest.raises(StoreError, match="another application"):
        open_store(pg_url)


def test_own_schema_in_a_shared_database(pg_url: str) -> None:
    """A database that also holds other tables: the app's tables go to a schema of their own."""
    query(pg_url, "CREATE TABLE invoices (id INTEGER); CREATE SCHEMA til")
    store = open_store(pg_url + "?options=-csearch_path%3Dtil")
    store.get_or_create_profile("me")
    tables = query(pg_url, "SELECT table_schema, count(*) FROM information_schema.tables "
                           "WHERE table_schema IN ('public', 'til') GROUP BY 1 ORDER BY 1")
    assert tables == [("public", 1), ("til", 11)]  # the ten tables and schema_version


def test_newer_schema_is_refused(pg_url: str) -> None:
    open_store(pg_url).close()
    query(pg_url, "UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError) as exc:
        open_store(pg_url)
    assert "newer version" in exc.value.reason


def test_url_selects_postgres_and_passwords_are_masked(pg_server: PgServer, pg_url: str,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert is_postgres_url("postgresql://u@h/db") and is_postgres_url("postgres://u@h/db")
    assert is_postgres_url("PostgreSQL://u@h/db") and not is_postgres_url(tmp_path / "p.sqlite3")
    assert masked("postgresql://til:p%40ss:w@db.example:5432/til?sslmode=require&password=x") == \
        "postgresql://til:***@db.example:5432/til?sslmode=require&password=***"
    assert masked("postgres://til@db/til") == "postgres://til@db/til" and masked("/a/b.sqlite3") == "/a/b.sqlite3"
    # the postgres:// spelling works too; the store shows the URL without its password
    store = open_store(pg_url.replace("postgresql://", "postgres://"))
    assert isinstance(store, PostgresStore) and PASSWORD not in str(store.path) and ":***@" in store.path
    monkeypatch.setenv("TIL_DB", pg_url)
    assert db_target() == pg_url
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    assert isinstance(open_store(), SQLiteStore)
    # errors at open say why and never show the password
    for url, words in ((pg_server.url(password="wrong-" + PASSWORD), "password authentication failed"),
                       (pg_server.url("no_such_db"), "does not exist"),
                       (pg_url.replace(f":{pg_server.port}/", ":1/"), "can't be reached")):
        with pytest.raises(StoreError) as exc:
            open_store(url)
        assert words in exc.value.reason, exc.value.reason
        assert PASSWORD not in str(exc.value) and PASSWORD not in exc.value.reason
    with pytest.raises(StoreError) as exc:  # the driver's message would quote the password
        open_store("postgresql://til:my secret@127.0.0.1/til")
    assert "not a valid PostgreSQL URL" in exc.value.reason and "secret" not in str(exc.value)


# ---------------------------------------------------------------------------------------------
# concurrency: separate store objects (as separate processes have) on one learner

def test_separate_stores_rating_and_undoing_one_learner_lose_nothing(pg_url: str) -> None:
    stores = [open_store(pg_url) for _ in range(4)]
    me = stores[0].get_or_create_profile("shared")
    assert all(s.get_or_create_profile("shared") == me for s in stores)
    acked: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def rate(store: PostgresStore) -> None:
        try:
            s = sched.make_scheduler()
            for j in range(30):
                rid = sched.rate(store, s, me.id, f"card-{j % 5}", Rating(1 + j % 4)).review_id
                with lock:
                    acked.append(rid)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=rate, args=(s,)) for s in stores]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert sorted(acked) == [r.id for r in stores[1].reviews(me.id)] and len(set(acked)) == 120
    assert set(stores[2].card_states(me.id)) == {f"card-{k}" for k in range(5)}

    undone: list[int] = []

    def undo(store: PostgresStore) -> None:
        for _ in range(10):
            undone.append(store.undo_last_review(me.id).id)

    threads = [threading.Thread(target=undo, args=(s,)) for s in stores[:2]]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(undone) == sorted(acked)[-20:]  # each review undone once, newest first
    assert len(stores[3].reviews(me.id)) == 100


# ---------------------------------------------------------------------------------------------
# faults

def test_server_stopped_mid_session(server_restarted: PgServer, pg: PostgresStore, pg_url: str) -> None:
    """Writes while the server is down raise StoreWriteError (no crash, no password); after a
    restart the same store object writes again and everything acknowledged is there."""
    me = pg.get_or_create_profile("me")
    s = sched.make_scheduler()
    acked = [sched.rate(pg, s, me.id, f"c{i}", Rating.Good).review_id for i in range(5)]
    server_restarted.stop()
    now = datetime.now(UTC)
    for write in (lambda: pg.record_review(me.id, "c9", 3, now, None, "{}", 1, now, None),
                  lambda: pg.save_interview(me.id, now, now, {}, {}, []),
                  lambda: pg.set_bookmark(me.id, "c1", True),
                  lambda: pg.undo_last_review(me.id),
                  lambda: pg.set_setting(me.id, "new_per_day", 3),
                  lambda: pg.replace_imported_cards(me.id, [{"id": "x"}]),
                  lambda: pg.get_or_create_profile("someone else")):
        with pytest.raises(StoreWriteError) as exc:
            write()
        assert exc.value.kind == "unreachable" and "can't be reached" in exc.value.reason
        assert exc.value.backend == "postgres" and PASSWORD not in str(exc.value)
    for read in (lambda: pg.reviews(me.id), lambda: pg.card_int("c0", 42),
                 lambda: sched.rate(pg, s, me.id, "c9", Rating.Good)):
        with pytest.raises(StoreError) as read_exc:  # a read says so too (not a driver traceback)
            read()
        assert read_exc.value.kind == "unreachable" and "can't be reached" in read_exc.value.reason
        assert PASSWORD not in str(read_exc.value)
    with pytest.raises(StoreError):
        open_store(pg_url)
    server_restarted.start()
    extra = sched.rate(pg, s, me.id, "after", Rating.Good).review_id  # pooled connections were replaced
    assert [r.id for r in pg.reviews(me.id)] == [*acked, extra]
    assert [r.id for r in open_store(pg_url).reviews(me.id)] == [*acked, extra]


def test_read_only_database(pg_server: PgServer, pg_url: str, pg: PostgresStore) -> None:
    me = pg.get_or_create_profile("me")
    rid = sched.rate(pg, sched.make_scheduler(), me.id, "c", Rating.Good).review_id
    db = pg_url.rsplit("/", 1)[1]
    pg_server.admin(f"ALTER DATABASE {db} SET default_transaction_read_only = on")
    try:
        pg.close()  # new connections get the setting (as after a failover to a standby)
        with pytest.raises(StoreWriteError) as exc:
            pg.set_bookmark(me.id, "c", True)
        assert exc.value.kind == "readonly" and "read-only" in exc.value.reason
        assert [r.id for r in pg.reviews(me.id)] == [rid]  # reads still work
        with pytest.raises(StoreWriteError) as at_open:
            open_store(pg_url)
        assert at_open.value.kind == "readonly"
    finally:
        pg_server.admin(f"ALTER DATABASE {db} SET default_transaction_read_only = off")
    pg.close()
    pg.set_bookmark(me.id, "c", True)
    assert pg.bookmarks(me.id) == {"c"}


def test_lock_held_too_long_is_busy(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("study.pg_store.BUSY_TIMEOUT_MS", 300)
    store = open_store(pg_url)
    me = store.get_or_create_profile("me")
    with psycopg.connect(pg_url) as other:  # another session holds the table lock
        other.execute("LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StoreWriteError) as exc:
            store.record_review(me.id, "q", 3, datetime.now(UTC), None, "{}", 1, datetime.now(UTC), None)
        assert exc.value.kind == "busy"
        other.rollback()
    store.record_review(me.id, "q", 3, datetime.now(UTC), None, "{}", 1, datetime.now(UTC), None)
    assert len(store.reviews(me.id)) == 1


def test_pool_exhausted_is_busy(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("study.pg_store.BUSY_TIMEOUT_MS", 200)
    store = PostgresStore(pg_url, pool_size=1)
    me = store.get_or_create_profile("me")
    with store._connection():  # the only connection is taken
        with pytest.raises(StoreWriteError) as exc:
            store.set_bookmark(me.id, "q", True)
        assert exc.value.kind == "busy"
    store.set_bookmark(me.id, "q", True)
    assert store.bookmarks(me.id) == {"q"}


# ---------------------------------------------------------------------------------------------
# the app on PostgreSQL

def test_flashcards_page_saves_reviews_in_postgres(server_restarted: PgServer, pg_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIL_DB", pg_url)
    at = open_page("flashcards")
    first = rate_current(at, 3)
    second = rate_current(at, 4)
    me = at.query_params["learner"]  # the session's own (guest) learner
    assert query(pg_url, "SELECT p.name, r.question_id, r.rating FROM reviews r JOIN profiles p "
                         "ON p.id = r.profile_id ORDER BY r.id") == [(me, first, 3), (me, second, 4)]
    assert "new today 2/20" in at.caption[0].value

    # the server goes away while a card is revealed: rating it is not a traceback but a message
    # (the URL masked); the card stays, nothing is stored
    current = at.session_state["fc:current"]
    at.button(key="fc:reveal").click().run()
    server_restarted.stop()
    at.button(key="fc:rate3").click().run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = [e.value for e in at.error]
    assert any("The progress database" in m and "can't be reached" in m and ":***@" in m for m in msgs), msgs
    assert not any(PASSWORD in m for m in msgs)

    server_restarted.start()  # back: the learner is told that rating was not saved, the same card
    at.run()                  # is still shown (revealed), and rating it now saves; nothing was lost
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Not saved: the progress database server can't be reached (stopped, restarting or cut off). "
        "Everything saved before is still in the database; try again once it is back."]
    assert at.session_state["fc:current"] == current
    at.button(key="fc:rate1").click().run()  # still revealed: rated at once
    assert not at.exception and not at.error
    assert query(pg_url, "SELECT question_id, rating FROM reviews ORDER BY id") == [
        (first, 3), (second, 4), (current, 1)]
