"""Transformer Interview Lab: entry point. Run with `streamlit run app.py`."""
from __future__ import annotations

import os

import streamlit as st

from ui import shell
from ui.nav import PAGES

# One intra-op thread per forward: the demo models are tiny, and with several sessions (or a
# background training run) more threads only oversubscribe this 2-core machine. torch is not
# imported here (it is most of a cold start, and the home page does not need it): it reads this
# when a page first imports it, and shell.warm_up() also calls torch.set_num_threads(1).
os.environ["OMP_NUM_THREADS"] = "1"

shell.skip_repl_check()
# No page_icon: shell.apply_base() sets the tab icon (an image icon here costs ~0.1 s of imports).
st.set_page_config(page_title="Transformer Interview Lab", layout="wide")

lang = shell.init_lang()

# Language switch: lives in the URL as ?lang=zh|en and holds across pages.
def _pick_lang() -> None:
    picked = st.session_state.get("_lang_pick")
    if picked:  # clicking the selected option deselects it: keep the language then
        st.session_state[shell.LANG_KEY] = picked


st.session_state["_lang_pick"] = lang
st.sidebar.segmented_control(
    "语言 / Language",
    options=["zh", "en"],
    # " 中文": Streamlit looks for an icon in each option's first word and, for a non-ASCII one,
    # compiles its emoji catalogue (~0.1 s of a newcomer's first page, bench/cold_start.py); an
    # empty first word skips that. The leading space is not drawn.
    format_func=lambda code: {"zh": " 中文", "en": "English"}[code],
    key="_lang_pick",
    on_change=_pick_lang,
    label_visibility="collapsed",
)
lang = shell.lang()

sections: dict[str, list] = {}
for spec in PAGES:
    sections.setdefault(shell.t(spec.section), []).append(
        st.Page(
            spec.path,
            title=shell.t(f"page_{spec.id}"),
            icon=spec.icon,
            url_path="" if spec.default else spec.id,
            default=spec.default,
        )
    )

missing = shell.unknown_url_path({spec.id for spec in PAGES})
if missing:  # our own bilingual "page not found" instead of Streamlit's English one
    sections[shell.t(PAGES[0].section)].append(
        st.Page(shell.not_found, title=shell.t("not_found_title"), url_path=missing, visibility="hidden"))

present = shell.init_present()
page = st.navigation(sections, expanded=True, position="hidden" if present else "sidebar")
st.query_params["lang"] = lang
shell.apply_base()
if present:
    shell.apply_present_mode()
    st.query_params[shell.PRESENT_KEY] = "1"
    if not st.context.is_embedded:  # a demo embedded in a lesson step has no exit of its own
        st.button(shell.t("exit_present"), icon=":material/close_fullscreen:", key="_exit_present",
                  on_click=shell.set_present, args=(False,))
else:
    st.query_params.pop(shell.PRESENT_KEY, None)
    st.sidebar.button(shell.t("present_mode"), icon=":material/co_present:", key="_enter_present",
                      on_click=shell.set_present, args=(True,), width="stretch")
link_slot = st.sidebar.empty()

page.run()

# After the page ran, the URL holds its whole state: offer it as a link to copy.
with link_slot.popover(shell.t("copy_link"), icon=":material/link:", width="stretch"):
    st.caption(shell.t("link_copied"))
    st.code(shell.share_link(), language=None, wrap_lines=True)


def _load_bank() -> None:
    from ui.cards import get_bank

    get_bank()


# Once per process, in the background after the first page: the bank, torch and the model code.
shell.warm_up(_load_bank)
shell.settle_heap()  # once per page per process: keeps full GCs off later reruns (see ui/shell.py)
