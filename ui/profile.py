"""The progress store for Streamlit pages, the learner picker (sidebar) and the learner's deck.

Pages call `learner()` (it shows the picker in the sidebar); app.py could call it once for all
pages. The store is opened once per process and per $TIL_DB (an SQLite file, or a PostgreSQL
URL: `study.store.open_store`); a corrupt or foreign file or database, or an unreachable server,
stops the page with a clear message (passwords masked) and is never overwritten.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

import i18n
from study import Deck, load_cards, with_imported
from study.store import ProgressStore, StoreError, clean_name, db_target, masked, open_store, set_active
from ui import shell

DEFAULT_LEARNER = "default"
_KEY = "_learner"
_NEW_KEY = "_learner_new"
_ERR_KEY = "_learner_err"
_WRITE_ERR_KEY = "_store_write_err"


@st.cache_resource(show_spinner=False)
def _open(target: str) -> ProgressStore:
    return open_store(target)


def store() -> ProgressStore:
    """The progress store at $TIL_DB (default data/progress.sqlite3); stops the page on error."""
    target = db_target()
    try:
        return _open(target)
    except StoreError as exc:
        _stop_on(exc)
    except OSError as exc:
        st.error(shell.t("flashcards.store_error", path=masked(target), reason=str(exc)), icon=":material/database:")
        st.stop()
    raise AssertionError  # unreachable


def _stop_on(exc: StoreError) -> None:
    """Tell why the progress store can't be used (a file's or a database server's words); stop."""
    key = "flashcards.store_error_server" if exc.backend == "postgres" else "flashcards.store_error"
    st.error(shell.t(key, path=str(exc.path), reason=fault_reason(exc)), icon=":material/database:")
    st.stop()


@contextlib.contextmanager
def saving(show: bool = False) -> Iterator[None]:
    """Run store writes; a refused write (disk full, read-only file, ...) skips the rest of the
    block and is told to the learner: right here when `show`, else by `show_write_error()` on the
    next run (for widget callbacks). What was saved before stays saved."""
    try:
        yield
    except StoreError as exc:
        key = "flashcards.write_error_server" if exc.backend == "postgres" else "flashcards.write_error"
        msg = shell.t(key, reason=fault_reason(exc))
        if show:
            st.error(msg, icon=":material/save:")
        else:
            st.session_state[_WRITE_ERR_KEY] = msg


def fault_reason(exc: StoreError) -> str:
    """The reason of a store error in the page's language (the store's English text otherwise)."""
    kind = getattr(exc, "kind", None)
    if kind is None:
        return exc.reason
    # a database server's faults are worded apart from a file's (tests/test_i18n.py: every kind has both)
    key = f"flashcards.fault_{'server_' if exc.backend == 'postgres' else ''}{kind}"
    return shell.t(key) if key in i18n.catalog() else exc.reason


def show_write_error() -> None:
    """Show (once) the message of a write refused in a callback."""
    msg = st.session_state.pop(_WRITE_ERR_KEY, None)
    if msg:
        st.error(msg, icon=":material/save:")


def bank() -> Deck:
    """The question bank, loaded once per process (shared with ui.cards when it is there)."""
    try:
        from ui.cards import get_bank
    except ImportError:
        return _fallback_bank()
    return get_bank()


@st.cache_resource(show_spinner=False)
def _fallback_bank() -> Deck:
    return load_cards()


def tz_offset_minutes() -> int:
    """Minutes to add to UTC for the learner's local time (from the browser; 0 when unknown)."""
    try:
        off = st.context.timezone_offset
    except Exception:  # noqa: BLE001 - no browser context (tests)
        off = None
    return -int(off) if off is not None else 0


def _create() -> None:
    name = clean_name(st.session_state.get(_NEW_KEY, ""))
    if not name:
        st.session_state[_ERR_KEY] = shell.t("flashcards.learner_empty")
        return
    with saving():
        p = store().get_or_create_profile(name)
        st.session_state[_KEY] = p.name
        st.session_state[_NEW_KEY] = ""
        st.session_state.pop(_ERR_KEY, None)


def learner():
    """The current learner (a Profile); shows the picker in the sidebar."""
    s = store()
    try:  # the first read or write of a run: a database server that went away is told here
        profiles = s.profiles() or [s.get_or_create_profile(DEFAULT_LEARNER)]
    except StoreError as exc:
        _stop_on(exc)
    names = [p.name for p in profiles]
    if st.session_state.get(_KEY) not in names:
        raw = st.query_params.get("learner")
        st.session_state[_KEY] = raw if raw in names else names[0]
    with st.sidebar:
        st.selectbox(shell.t("flashcards.learner"), names, key=_KEY,
                     help=shell.t("flashcards.learner_help"))
        with st.popover(shell.t("flashcards.learner_new"), icon=":material/person_add:", width="stretch"):
            st.text_input(shell.t("flashcards.learner_name"), key=_NEW_KEY, max_chars=40)
            st.button(shell.t("flashcards.learner_create"), on_click=_create, key="_learner_create")
            if st.session_state.get(_ERR_KEY):
                st.warning(st.session_state[_ERR_KEY])
    name = st.session_state[_KEY]
    if st.query_params.get("learner") != name:
        st.query_params["learner"] = name
    me = next(p for p in profiles if p.name == name)
    set_active(s, me.id)  # the shared card renderer's bookmark star uses this learner
    show_write_error()
    return me


def deck(profile_id: int) -> Deck:
    """The bank plus this learner's imported cards."""
    return with_imported(bank(), store().imported_cards(profile_id))
