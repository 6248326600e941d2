"""题库 / Question bank: filter, search, read every card; `?card=<id>` pins one card on top.

URL state (via ui.state): q, topic, difficulty, source, starred; plus `card` (deep link).
"""
from ui import shell

lang = shell.page("bank")
import streamlit as st

from questions.schema import SOURCES, TOPICS
from questions.search import search
from ui import profile, state
from ui.cards import bookmark_store, difficulty_label, get_bank, render_card, source_label, stars, topic_label

PAGE_SIZE = 25
MAX_QUERY = 200
ALL = "all"

bank = get_bank()
profile.learner()  # the learner picker (sidebar); bookmarks are kept per learner

if bank.problems:
    files = bank.failed_files
    st.warning(shell.t("bank.bad_files", n=len(files), files=", ".join(files)), icon=":material/warning:")
    with st.expander(shell.t("bank.problems_detail", n=len(bank.problems))):
        st.code("\n".join(str(p) for p in bank.problems), language=None, wrap_lines=True)

st.caption(shell.t("bank.intro"))

# ---- filters (all in the URL) ----
top = st.columns([4, 2, 2, 2], vertical_alignment="bottom")
with top[0]:
    query = state.text("q", shell.t("bank.search_label"), "", max_chars=MAX_QUERY,
                       placeholder=shell.t("bank.search_placeholder"), icon=":material/search:")
# labels computed now: a format_func may be called outside the script run (AppTest)
topic_names = {ALL: shell.t("bank.all_topics"), **{tp: topic_label(tp, lang) for tp in TOPICS}}
diff_names = {ALL: shell.t("bank.all_difficulties"),
              **{str(d): f"{stars(d)} {difficulty_label(d)}" for d in (1, 2, 3)}}
source_names = {ALL: shell.t("bank.all_sources"), **{s: source_label(s) for s in SOURCES}}
with top[1]:
    topic = state.select("topic", shell.t("bank.topic_label"), list(topic_names), ALL,
                         format_func=topic_names.__getitem__)
with top[2]:
    difficulty = state.select("difficulty", shell.t("bank.difficulty_label"), list(diff_names), ALL,
                              format_func=diff_names.__getitem__)
with top[3]:
    source = state.select("source", shell.t("bank.source_label"), list(source_names), ALL,
                          format_func=source_names.__getitem__)
starred_only = state.toggle("starred", shell.t("bank.starred_only"), False)

query = query or ""
if len(query) > MAX_QUERY:  # the widget caps typing; a pasted or scripted value may still be longer
    st.info(shell.t("bank.query_cut", n=MAX_QUERY))
    query = query[:MAX_QUERY]

# ---- results ----
cards = bank.filter(topic=None if topic == ALL else topic,
                    difficulty=None if difficulty == ALL else int(difficulty),
                    source=None if source == ALL else source)
if starred_only:
    marked = bookmark_store().bookmarked()
    cards = [c for c in cards if c.id in marked]
if query.strip():
    allowed = {c.id for c in cards}
    cards = [h.card for h in search(bank, query, lang=lang, top=len(bank), min_ratio=0.3) if h.id in allowed]
else:
    order = {t: i for i, t in enumerate(TOPICS)}
    cards = sorted(cards, key=lambda c: order.get(c.topic, len(order)))

# ---- deep link: ?card=<id> pins the card on top, open ----
linked_id = st.query_params.get("card")
if linked_id:
    linked = bank.get(linked_id)
    if linked is None:
        st.warning(shell.t("bank.unknown_card"), icon=":material/link_off:")
    else:
        with st.container(border=True, key="bank-linked"):
            head = st.columns([6, 1], vertical_alignment="center")
            head[0].caption(shell.t("bank.linked_card"))
            head[1].button(shell.t("bank.close_linked"), key="bank:close_linked", icon=":material/close:",
                           type="tertiary", on_click=lambda: st.query_params.pop("card", None))
            render_card(linked, lang, key_prefix="bank-linked")

if not len(bank):
    st.info(shell.t("bank.empty_bank"))
elif not cards:
    st.info(shell.t("bank.no_results"))
else:
    key = "count_search" if query.strip() else "count"
    st.markdown(f"**{shell.t(f'bank.{key}', n=len(cards), total=len(bank))}**")

    # Show PAGE_SIZE cards, more on demand; reset when the filters or the query change.
    signature = (query, topic, difficulty, source, starred_only)
    if st.session_state.get("bank:signature") != signature:
        st.session_state["bank:signature"] = signature
        st.session_state["bank:shown"] = PAGE_SIZE
    shown = st.session_state["bank:shown"]

    for card in cards[:shown]:
        label = f"{card.question.get(lang)}  ·  :gray[{stars(card.difficulty)}]"
        # on_change="rerun": a closed expander runs nothing but its label (fast reruns)
        box = st.expander(label, key=f"bank:open:{card.id}", on_change="rerun")
        if box.open:
            with box:
                render_card(card, lang, key_prefix="bank", show_question=False)

    left = len(cards) - shown
    if left > 0:
        def _more() -> None:
            st.session_state["bank:shown"] = shown + PAGE_SIZE

        st.button(shell.t("bank.more", n=min(PAGE_SIZE, left), left=left), key="bank:more",
                  icon=":material/expand_more:", on_click=_more)
