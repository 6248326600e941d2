"""How the progress store's faults reach the page: a stop with a clear message, or a write that
was refused told to the learner. Shared by ui.profile and ui.cards (no import between those two)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

import i18n
from study.store import StoreError
from ui import shell

_WRITE_ERR_KEY = "_store_write_err"
_SHOWN_KEY = "_store_write_shown"  # the refusal already shown in this run (one message per run)


def stop_on(exc: StoreError) -> None:
    """Tell why the progress store can't be used (a file's or a database server's words); stop.
    The path and reason come from the operator's $TIL_DB and the database, not from a learner."""
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
            _show(msg)
        else:
            st.session_state[_WRITE_ERR_KEY] = msg


def fault_reason(exc: StoreError) -> str:
    """The reason of a store error in the page's language (the store's English text otherwise)."""
    kind = getattr(exc, "kind", None)
    if kind is None:
        return exc.reason
    # a database server's faults are worded apart from a file's (tests/test_i18n.py: every kind has both)
    key = f"flashcards.fault_{'server_' if exc.backend == 'postgres' else ''}{kind}"
    return shell.t(key) if i18n.entry(key) is not None else exc.reason


def _show(msg: str) -> None:
    """Show a refused write, unless this run already said the same (a refused rating in a callback
    and the next write of the same run on the same full disk are one fault to the learner)."""
    if st.session_state.get(_SHOWN_KEY) == msg:
        return
    st.session_state[_SHOWN_KEY] = msg
    st.error(msg, icon=":material/save:")


def show_write_error() -> None:
    """Show (once) the message of a write refused in a callback. Called at the start of every run
    that writes (ui.profile.learner), so it also starts the run's "already shown" memory afresh."""
    st.session_state.pop(_SHOWN_KEY, None)
    msg = st.session_state.pop(_WRITE_ERR_KEY, None)
    if msg:
        _show(msg)
