"""Render one question card, shared by the bank, flashcards, demo footers and lessons.

    from ui.cards import get_bank, render_card

    bank = get_bank()                      # cached per process; reloads when a card file changes
    render_card(bank.by_id["why-scale-by-sqrt-dk"], lang, key_prefix="bank")

`render_card(card, lang, *, key_prefix, show_answer=True, show_question=True)` draws: the
question, a meta line (topic, difficulty, source), the answer (Markdown + LaTeX), keywords,
the "the original note was wrong" box for corrections, related cards (links to the bank page
with `?card=<id>`), an "open the demo" button and a bookmark star. `key_prefix` keeps widget
keys unique when a card appears more than once on a page.

Bookmarks go through a small store interface (`BookmarkStore`: `is_bookmarked`, `set_bookmarked`,
`bookmarked`). The default keeps them in the session; `set_bookmark_store(store)` installs a
persistent one (the study package's store is used automatically when it provides these methods).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import streamlit as st

from questions.bank import Bank, fingerprint, load_bank
from questions.schema import DEMOS, Card
from questions.search import index_of
from questions.vocab import topic_label as topic_label  # re-exported: pages use cards.topic_label
from ui import shell
from ui.store_faults import saving

BANK_PAGE = "pages/bank.py"
_SESSION_BOOKMARKS = "_bookmarks"


# ---------------------------------------------------------------------------------------------
# the bank, cached per process

@st.cache_resource(show_spinner=False, max_entries=4)
def _load(key: tuple) -> Bank:
    bank = load_bank(key[0])
    index_of(bank)  # build the search index now, once, not on the first search
    return bank


def get_bank() -> Bank:
    """The bank of questions/ (or $TIL_QUESTIONS_DIR), loaded once per process and file state."""
    return _load(fingerprint())


# ---------------------------------------------------------------------------------------------
# bookmarks

@runtime_checkable
class BookmarkStore(Protocol):
    def is_bookmarked(self, card_id: str) -> bool: ...
    def set_bookmarked(self, card_id: str, on: bool) -> None: ...
    def bookmarked(self) -> set[str]: ...


class SessionBookmarks:
    """Bookmarks kept in st.session_state (lost when the browser session ends)."""

    def _ids(self) -> set[str]:
        return st.session_state.setdefault(_SESSION_BOOKMARKS, set())

    def is_bookmarked(self, card_id: str) -> bool:
        return card_id in self._ids()

    def set_bookmarked(self, card_id: str, on: bool) -> None:
        ids = self._ids()
        if on:
            ids.add(card_id)
        else:
            ids.discard(card_id)

    def bookmarked(self) -> set[str]:
        return set(self._ids())


_store: BookmarkStore | None = None


def set_bookmark_store(store: BookmarkStore | None) -> None:
    """Install a bookmark store for the whole process (None: back to the session store)."""
    global _store
    _store = store


def bookmark_store() -> BookmarkStore:
    if _store is not None:
        return _store
    try:  # the study package may provide a persistent store with the same three methods
        from study import store as study_store  # type: ignore[attr-defined]

        candidate = getattr(study_store, "bookmarks", None)
        candidate = candidate() if callable(candidate) else candidate
        if isinstance(candidate, BookmarkStore):
            return candidate
    except Exception:  # noqa: BLE001 - a missing or broken optional store falls back to the session
        pass
    return SessionBookmarks()


def _toggle_bookmark(store: BookmarkStore, card_id: str) -> None:
    # the store is bound at render time: a callback runs before the page has set up its learner
    with saving():  # a refused write (disk full, read-only) is told, not a traceback
        store.set_bookmarked(card_id, not store.is_bookmarked(card_id))


# ---------------------------------------------------------------------------------------------
# buttons that leave the page
#
# A click is recorded by an on_click callback and acted on in the script body. Unlike
# `if st.button(...)`, this survives a rerun between the click and the button's line (the shell's
# routing guard can rerun a page once), and st.switch_page is not allowed inside a callback.

_PENDING = "_cards_pending"


def request(action: str) -> None:
    """on_click callback: remember that `action` was clicked."""
    st.session_state[_PENDING] = action


def requested(action: str) -> bool:
    """True once after `action` was clicked (consumes the request)."""
    if st.session_state.get(_PENDING) == action:
        del st.session_state[_PENDING]
        return True
    return False


# ---------------------------------------------------------------------------------------------
# labels

def source_label(source: str) -> str:
    if source == "supplement":
        return shell.t("bank.source_supplement")
    return shell.t("bank.source_notes", n=source.split("_", 1)[0])


def difficulty_label(difficulty: int) -> str:
    return shell.t(f"bank.diff_{difficulty}")


def stars(difficulty: int) -> str:
    return "★" * difficulty + "☆" * (3 - difficulty)


def demo_label(demo_id: str, lang: str) -> str:
    zh, en = DEMOS.get(demo_id, (demo_id, demo_id))
    return zh if lang == "zh" else en


def open_demo(card: Card, lang: str) -> None:
    """Go to the card's demo page with its preset params (section, sliders) in the URL.

    ui.state reads a page's URL params only on the page's first run in a session, so the
    session values of the preset params are dropped first: the page then takes the card's.
    """
    if card.demo is None:
        return
    params = {k: str(v) for k, v in card.demo.params.items()}
    for name in params:
        st.session_state.pop(f"{card.demo.id}:{name}", None)
    st.switch_page(f"pages/{card.demo.id}.py", query_params={**params, "lang": lang})


# ---------------------------------------------------------------------------------------------
# the card

def render_card(card: Card, lang: str, *, key_prefix: str, show_answer: bool = True,
                show_question: bool = True) -> None:
    """Draw one card (see the module docstring). Call inside any container."""
    key = f"{key_prefix}:{card.id}"
    if show_question:
        st.markdown(f"#### {card.question.get(lang)}")
    meta = (f":violet-badge[{topic_label(card.topic, lang)}] "
            f":orange-badge[{stars(card.difficulty)} {difficulty_label(card.difficulty)}] "
            f":gray-badge[{source_label(card.source)}]")
    store = bookmark_store()
    starred = store.is_bookmarked(card.id)
    # one row: the badges take what is left after the bookmark button's own width (a fixed
    # 1/7 column cut "收藏" to "收.." in narrow containers such as the mock interview's)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(meta, width="stretch")
        st.button(
            shell.t("bank.bookmarked" if starred else "bank.bookmark"),
            key=f"{key}:star",
            icon=":material/star:" if starred else ":material/star_border:",
            type="tertiary",
            on_click=_toggle_bookmark,
            args=(store, card.id),
            help=shell.t("bank.bookmark_help"),
            width="content",
        )
    if show_answer:
        st.markdown(card.answer.get(lang))
        groups = card.keywords.get(lang)
        if groups:
            badges = " ".join(f":blue-badge[{g[0]}]" for g in groups)
            st.markdown(f"**{shell.t('bank.keywords')}** {badges}")
        for c in card.corrections:
            st.warning(f"**{shell.t('bank.corrections_title')}**\n\n"
                       f"**{shell.t('bank.said')}** {c.said.get(lang)}\n\n"
                       f"**{shell.t('bank.why')}** {c.why.get(lang)}",
                       icon=":material/report:")
    _related(card, lang, key)
    if card.demo is not None:
        st.button(shell.t("bank.open_demo_to", demo=demo_label(card.demo.id, lang)), key=f"{key}:demo",
                  icon=":material/play_circle:", type="secondary", on_click=request, args=(f"{key}:demo",))
        if requested(f"{key}:demo"):
            open_demo(card, lang)


def _related(card: Card, lang: str, key: str) -> None:
    bank = get_bank()
    related = [bank.by_id[r] for r in card.related if r in bank.by_id]
    if not related:
        return
    st.markdown(f"**{shell.t('bank.related')}**")
    with st.container(horizontal=True, gap="small"):
        for r in related:
            st.page_link(BANK_PAGE, label=r.question.get(lang), icon=":material/link:",
                         query_params={"card": r.id, "lang": lang})
