"""The progress store for Streamlit pages, who the session's learner is (sidebar), their deck.

Pages call `learner()`: it returns the session's learner and shows the sidebar controls. The
store is opened once per process and per $TIL_DB (an SQLite file, or a PostgreSQL URL:
`study.stores.open_store`); a corrupt or foreign file or database, or an unreachable server,
stops the page with a clear message (passwords masked) and is never overwritten.

Identity (docs/SECURITY.md):
- A session is never put on another learner's progress by default: a session that has not
  chosen gets a new guest learner ("Guest 12345"; empty guests are pruned after a day).
- Self-study (default): the sidebar lists the learners; `?learner=NAME` in the URL selects one,
  and the URL carries the choice (a laptop's bookmark). A learner with a PIN is entered only
  with it.
- Class mode (TIL_CLASS_MODE=on): learners are not listed and `?learner=` is neither read nor
  written (a copied URL must not carry an identity); a session signs in by name and, when that
  learner set one, PIN. Failed PINs are limited per learner.
- With TIL_INSTRUCTOR_PASSWORD set, an instructor panel removes learners and clears PINs.
"""
from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING

import streamlit as st

from study import identity as ident
from study.store import BadName, Profile, ProgressStore, StoreError, db_target, masked, set_active
from study.stores import open_store
from ui import shell
from ui.store_faults import fault_reason as fault_reason  # re-exported: pages use profile.fault_reason
from ui.store_faults import saving as saving
from ui.store_faults import show_write_error, stop_on

if TYPE_CHECKING:
    from study.deck import Deck

# The bank, its schema (pydantic) and the Markdown judge are imported by the functions that use
# them (bank, deck, shown_safely), not with this module: every page imports it, and a newcomer's
# home page needs the store and the learner but not the bank (cold start: bench/cold_start.py).

_ID = "_learner_id"          # the session's learner (profile id)
_KEY = "_learner"            # self-study picker (selectbox of names)
_NEW_KEY = "_learner_new"    # new learner: name
_NEW_PIN = "_learner_new_pin"
_SIGN_NAME = "_signin_name"  # sign in: name (class mode, or a learner with a PIN)
_SIGN_PIN = "_signin_pin"
_ERR_KEY = "_learner_err"
_OK_KEY = "_learner_ok"
_INSTRUCTOR = "_instructor"
_INSTR_PW = "_instructor_pw"

# failed PIN attempts per learner id (this process): at most MAX_FAILS per FAIL_WINDOW_S
MAX_FAILS, FAIL_WINDOW_S = 5, 300
_fails: dict[int, list[float]] = {}
_fails_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _open(target: str) -> ProgressStore:
    return open_store(target)


def store() -> ProgressStore:
    """The progress store at $TIL_DB (default data/progress.sqlite3); stops the page on error."""
    target = db_target()
    try:
        return _open(target)
    except StoreError as exc:
        stop_on(exc)
    except OSError as exc:
        st.error(shell.t("flashcards.store_error", path=masked(target), reason=str(exc)), icon=":material/database:")
        st.stop()
    raise AssertionError  # unreachable


def bank() -> Deck:
    """The question bank, loaded once per process (ui.cards)."""
    from ui.cards import get_bank

    return get_bank()


def tz_offset_minutes() -> int:
    """Minutes to add to UTC for the learner's local time (from the browser; 0 when unknown)."""
    try:
        off = st.context.timezone_offset
    except Exception:  # noqa: BLE001 - no browser context (tests)
        off = None
    return -int(off) if off is not None else 0


def _it(key: str, **fmt: object) -> str:
    return shell.t("identity." + key, **fmt)


def _name_error(exc: BadName) -> str:
    return _it(f"name_{exc.kind}", n=40)


# ---------------------------------------------------------------------------------------------
# PIN attempts

def _locked(profile_id: int) -> bool:
    now = time.monotonic()
    with _fails_lock:
        recent = [t for t in _fails.get(profile_id, []) if now - t < FAIL_WINDOW_S]
        _fails[profile_id] = recent
        return len(recent) >= MAX_FAILS


def _failed(profile_id: int) -> None:
    with _fails_lock:
        _fails.setdefault(profile_id, []).append(time.monotonic())


def _enter(s: ProgressStore, found: Profile | None, pin: str) -> bool:
    """Let the session in as `found` if it has no PIN or `pin` matches; the error is set otherwise."""
    if found is None:
        st.session_state[_ERR_KEY] = _it("signin_failed")
        return False
    if found.has_secret:
        if _locked(found.id):
            st.session_state[_ERR_KEY] = _it("signin_locked", minutes=FAIL_WINDOW_S // 60)
            return False
        if not ident.verify_secret(pin, s.secret_hash(found.id)):
            _failed(found.id)
            st.session_state[_ERR_KEY] = _it("signin_failed")
            return False
    st.session_state[_ID] = found.id
    st.session_state.pop(_ERR_KEY, None)
    st.session_state[_SIGN_PIN] = ""
    return True


# ---------------------------------------------------------------------------------------------
# callbacks (they run before the script; st.* output here is not allowed)

def _create() -> None:
    s = store()
    pin = st.session_state.get(_NEW_PIN, "") or ""
    if pin and ident.check_secret(pin):
        st.session_state[_ERR_KEY] = _it("pin_bad", lo=ident.MIN_SECRET, hi=ident.MAX_SECRET)
        return
    with saving():
        try:
            p = s.create_profile(st.session_state.get(_NEW_KEY, "") or "",
                                 ident.hash_secret(pin) if pin else None)
        except BadName as exc:
            st.session_state[_ERR_KEY] = _name_error(exc)
            return
        st.session_state[_ID] = p.id
        st.session_state[_NEW_KEY] = ""
        st.session_state[_NEW_PIN] = ""
        st.session_state.pop(_ERR_KEY, None)


def _picked() -> None:
    """Self-study picker changed: switch, unless that learner has a PIN (then ask for it)."""
    s = store()
    found = s.profile_by_name(st.session_state.get(_KEY) or "")
    if found is None:
        return
    if found.has_secret:
        st.session_state[_SIGN_NAME] = found.name
        st.session_state[_ERR_KEY] = _it("pin_needed")
        return
    st.session_state[_ID] = found.id
    st.session_state.pop(_ERR_KEY, None)


def _sign_in() -> None:
    s = store()
    _enter(s, s.profile_by_name(st.session_state.get(_SIGN_NAME, "") or ""), st.session_state.get(_SIGN_PIN, "") or "")


def _instructor_login() -> None:
    ok = ident.verify_instructor(st.session_state.get(_INSTR_PW, "") or "")
    st.session_state[_INSTRUCTOR] = ok
    st.session_state[_INSTR_PW] = ""
    st.session_state[_ERR_KEY if not ok else _OK_KEY] = _it("instructor_failed" if not ok else "instructor_ok")


def _remove(profile_id: int) -> None:
    if not st.session_state.get(_INSTRUCTOR):
        return
    with saving():
        store().remove_profile(profile_id)
        if st.session_state.get(_ID) == profile_id:
            st.session_state.pop(_ID, None)


def _clear_pin(profile_id: int) -> None:
    if not st.session_state.get(_INSTRUCTOR):
        return
    with saving():
        store().set_secret_hash(profile_id, None)


# ---------------------------------------------------------------------------------------------
# the session's learner

def _current(s: ProgressStore) -> Profile:
    """The session's learner: the one it chose, else (self-study) `?learner=` when that learner
    has no PIN, else a new guest. Never the first or only learner by default."""
    pid = st.session_state.get(_ID)
    me = s.profile_by_id(pid) if isinstance(pid, int) else None
    if me is not None:
        return me
    if not ident.class_mode():
        raw = st.query_params.get("learner")
        found = s.profile_by_name(raw) if raw else None
        if found is not None and not found.has_secret:
            me = found
        elif found is not None:
            st.session_state[_SIGN_NAME] = found.name  # asked for the PIN in the sidebar
    if me is None:
        me = s.create_guest()
    st.session_state[_ID] = me.id
    return me


_GUEST_NAME = re.compile(r"Guest (\d+)")


def display_name(p: Profile) -> str:
    """A learner's name as shown: a guest is stored as "Guest 12345" and shown in the page
    language ("访客 12345" in Chinese); every other name exactly as typed."""
    m = _GUEST_NAME.fullmatch(p.name) if p.guest else None
    return _it("guest_name", n=m.group(1)) if m else p.name


def learner() -> Profile:
    """The session's learner (a Profile); shows the learner controls in the sidebar."""
    s = store()
    try:  # the first read or write of a run: a database server that went away is told here
        me = _current(s)
        others = [] if ident.class_mode() else [p for p in s.profiles() if not p.guest or p.id == me.id]
    except StoreError as exc:
        stop_on(exc)
        raise AssertionError from exc  # unreachable
    with st.sidebar:
        if len(others) < 2:
            # Nobody to pick (class mode lists no one; a newcomer is alone on the store): the name,
            # not a one-option list. That list is the heaviest widget of a first page in the
            # browser (~0.3 s of its scripts on a 2-core machine, bench/cold_start.py).
            st.caption(_it("signed_in_as", name=shell.md_plain(display_name(me))),
                       help=None if ident.class_mode() else _it("alone_help"))
        else:
            st.session_state[_KEY] = me.name
            shown = {p.name: display_name(p) for p in others}
            st.selectbox(shell.t("flashcards.learner"), [p.name for p in others], key=_KEY, on_change=_picked,
                         help=_it("picker_help"), format_func=lambda name: shown.get(name, name))
        _sign_in_box(me)
        with st.popover(shell.t("flashcards.learner_new"), icon=":material/person_add:", width="stretch"):
            st.text_input(shell.t("flashcards.learner_name"), key=_NEW_KEY, max_chars=40)
            st.text_input(_it("pin_optional"), key=_NEW_PIN, type="password", max_chars=ident.MAX_SECRET,
                          help=_it("pin_help"))
            st.button(shell.t("flashcards.learner_create"), on_click=_create, key="_learner_create")
        if st.session_state.get(_ERR_KEY):
            st.warning(st.session_state[_ERR_KEY])  # our own catalog's words; names inside are escaped
        if ident.instructor_enabled():
            _instructor_panel(s)
    if ident.class_mode():
        if "learner" in st.query_params:
            del st.query_params["learner"]
    elif st.query_params.get("learner") != me.name:
        st.query_params["learner"] = me.name
    set_active(s, me.id)  # the shared card renderer's bookmark star uses this learner
    show_write_error()
    return me


def _sign_in_box(me: Profile) -> None:
    pending = st.session_state.get(_SIGN_NAME)
    if not ident.class_mode() and not pending:
        return
    with st.popover(_it("signin"), icon=":material/login:", width="stretch"):
        st.text_input(shell.t("flashcards.learner_name"), key=_SIGN_NAME, max_chars=40)
        st.text_input(_it("pin"), key=_SIGN_PIN, type="password", max_chars=ident.MAX_SECRET)
        st.button(_it("signin"), on_click=_sign_in, key="_signin_go")


def _instructor_panel(s: ProgressStore) -> None:
    with st.expander(_it("instructor"), icon=":material/admin_panel_settings:"):
        if not st.session_state.get(_INSTRUCTOR):
            st.text_input(_it("instructor_password"), key=_INSTR_PW, type="password")
            st.button(_it("instructor_signin"), on_click=_instructor_login, key="_instructor_go")
            return
        if st.session_state.get(_OK_KEY):
            st.caption(st.session_state.pop(_OK_KEY))
        for p in s.profiles():
            row = st.columns([3, 1, 1], vertical_alignment="center")
            row[0].text(p.name)  # plain text: a name never reaches Markdown here
            row[1].button(_it("clear_pin"), key=f"_instr_pin:{p.id}", disabled=not p.has_secret,
                          on_click=_clear_pin, args=(p.id,), type="tertiary")
            row[2].button(_it("remove"), key=f"_instr_rm:{p.id}", on_click=_remove, args=(p.id,), type="tertiary")


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list | tuple):
        return [s for v in node for s in _strings(v)]
    return []


def shown_safely(card: dict) -> bool:
    """Whether an imported card may be rendered as Markdown: every text passes the CommonMark
    judge (no image, outside link, HTML). The import refuses such cards; this also keeps out any
    stored before that check existed or written to the database by other means."""
    from questions.markdown_check import judge

    return not any(judge(text) for text in _strings(card))


def deck(profile_id: int) -> Deck:
    """The bank plus this learner's imported cards (those that pass the Markdown judge)."""
    from study.deck import with_imported

    return with_imported(bank(), [c for c in store().imported_cards(profile_id) if shown_safely(c)])
