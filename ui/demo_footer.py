"""The footer of every demo page: the questions this demo answers, and "quiz me on these".

    from ui.demo_footer import demo_footer
    demo_footer("attention")          # last line of pages/attention.py

Lists the cards whose `demo.id` equals `demo_id` (each in a collapsed expander rendered with
ui.cards.render_card) and a "quiz me on these" button.

Contract with the flashcards page (pages/flashcards.py): the button calls

    st.switch_page("pages/flashcards.py",
                   query_params={"cards": "id1,id2,...", "mode": "cram", "lang": "zh" | "en"})

* `cards`: comma-separated card ids (bank order, no spaces), every id exists in the bank;
* `mode`: "cram" = review exactly these cards now, regardless of their schedule;
* `lang`: the current UI language.
The flashcards page reads these from st.query_params on its first run.
"""
from __future__ import annotations

import streamlit as st

from ui import shell
from ui.cards import get_bank, render_card, request, requested, stars

FLASHCARDS_PAGE = "pages/flashcards.py"


def quiz_params(card_ids: list[str], lang: str) -> dict[str, str]:
    """The query params of the flashcards page for a cram session on `card_ids`."""
    return {"cards": ",".join(card_ids), "mode": "cram", "lang": lang}


def demo_footer(demo_id: str) -> None:
    lang = shell.lang()
    cards = get_bank().for_demo(demo_id)
    st.divider()
    st.subheader(shell.t("bank.footer_title"))
    if not cards:
        st.caption(shell.t("bank.footer_none"))
        return
    for card in cards:
        box = st.expander(f"{card.question.get(lang)}  ·  :gray[{stars(card.difficulty)}]",
                          key=f"footer:{demo_id}:{card.id}", on_change="rerun")
        if box.open:
            with box:
                render_card(card, lang, key_prefix=f"footer-{demo_id}", show_question=False)
    action = f"footer:{demo_id}:quiz"
    st.button(shell.t("bank.quiz_me"), key=action, icon=":material/style:", type="primary",
              help=shell.t("bank.quiz_me_help"), on_click=request, args=(action,))
    if requested(action):
        st.switch_page(FLASHCARDS_PAGE, query_params=quiz_params([c.id for c in cards], lang))
