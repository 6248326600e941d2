"""The app shell: routing guard, language, page header. Every page calls `page(<id>)` first."""
from __future__ import annotations

import base64
import gc
import re
import runpy
import threading
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

import i18n

APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
LANG_KEY = "lang"
_CURRENT_PAGE = "_current_page"


def ensure_routed() -> None:
    """Make the first request to a page URL go through app.py.

    On a fresh server Streamlit runs a `pages/` folder next to the entry point in its legacy
    auto-discovery mode until some session has called st.navigation, so the first request to
    /<page> runs pages/<page>.py directly. Such a run switches the process to st.navigation mode
    and executes app.py in its place, which routes to the same page (same URL path, hence the
    same page hash) with the shell (language, sidebar) in place. AppTest resets the mode before
    every run, so there this happens on each run; it costs one extra import, not a rerun.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        # Run the entry point in place of this legacy run: it calls st.navigation, which
        # resolves the same page (same URL path, hence the same page hash) and runs it.
        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()


def skip_repl_check() -> None:
    """Under `streamlit run`, skip Streamlit's once-per-process check at the first element of
    whether it runs in a Python REPL (it prints a hint for `python app.py`): an `inspect.stack()`
    that resolves the module of every frame, 0.05-0.1 s of a newcomer's first page (cold start,
    bench/cold_start.py). Run directly (`python app.py`, no runtime), the check and its hint stay.
    Streamlit keeps the "already checked" flag in a module global; tests/test_cold_path.py fails
    if an upgrade renames it."""
    import streamlit.delta_generator

    if st.runtime.exists():
        streamlit.delta_generator._use_warning_has_been_displayed = True


def init_lang() -> str:
    """Language from session, else the URL's ?lang=, else the browser's locale, else Chinese."""
    if LANG_KEY not in st.session_state:
        raw = st.query_params.get(LANG_KEY)
        if raw in i18n.LANGS:
            st.session_state[LANG_KEY] = raw
        else:
            st.session_state[LANG_KEY] = i18n.normalize_lang(getattr(st.context, "locale", None))
    return st.session_state[LANG_KEY]


def lang() -> str:
    value = st.session_state.get(LANG_KEY)
    return value if value in i18n.LANGS else init_lang()


def t(key: str, **fmt: object) -> str:
    """UI string in the current language; a key without a namespace means `common.`."""
    if "." not in key:
        key = f"common.{key}"
    return i18n.t(key, lang(), **fmt)


def current_page() -> str | None:
    return st.session_state.get(_CURRENT_PAGE)


def page(page_id: str, *, title: bool = True) -> str:
    """Start a page: routing guard, remember the page, show its title. Returns the language."""
    ensure_routed()
    st.session_state[_CURRENT_PAGE] = page_id
    if title:
        st.title(t(f"common.page_{page_id}"))
    return lang()


# Every page, every run (app.py): house CSS fixes for Streamlit's defaults.
_BASE_CSS = """
<style>
/* Page-link cards (home): long titles wrap instead of ending in an ellipsis ("Mock interviev"). */
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] span,
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
/* The main area is focusable (tabindex=0) so the arrow keys scroll it; a click on blank space
   followed by a key (lessons: arrow keys turn steps) drew a thick frame around the whole page. */
[data-testid="stMain"]:focus, [data-testid="stMain"]:focus-visible { outline: none !important; }
/* Narrow main areas (800 px screen with the sidebar open: ~450 px): columns wrap onto a new row
   instead of shrinking to a character a line (home's five entry cards, rows of metrics). */
[data-testid="stMain"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[data-testid="stMain"] [data-testid="stColumn"] { min-width: min(8rem, 100%); }
/* Side-by-side panels of text, code or charts (shell.panels): below ~16rem each they go under
   each other (the drills statement and editor, a heatmap beside a bar chart on a projector). */
[class*="st-key-panels-"] > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"],
[class*="st-key-panels-"] > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"],
[data-testid="stMain"] [data-testid="stColumn"]:has([data-testid="stPlotlyChart"]) {
  min-width: min(16rem, 100%); }
/* The same for every column holding a chart (above). On a narrow screen a metric's number gets a
   smaller font rather than an ellipsis ("2.58e…"), and page-link cards (home) go two or four to a
   row instead of three at 8rem, where a one-word title broke mid-word ("Flashcard|s"). */
@media (max-width: 1000px) {
  [data-testid="stMetricValue"] { font-size: 1.6rem !important; }
  [data-testid="stMain"] [data-testid="stColumn"]:has([data-testid="stPageLink"]) { min-width: min(9.5rem, 100%); }
}
/* A column holding a segmented control (flashcards: Spaced review | Cram) keeps 14rem, room for a
   two-option control: at 800 px its last option was cut off; the next column wraps instead. */
[data-testid="stMain"] [data-testid="stColumn"]:has([data-testid="stButtonGroup"]) { min-width: min(14rem, 100%); }
/* Captions: Streamlit fades them with opacity 0.6 (about 3.9:1 on our background, below WCAG
   AA's 4.5:1); a grey that passes (5.6:1 on the page, 5.1:1 on the sidebar grey) at full opacity. */
[data-testid="stCaptionContainer"] { opacity: 1 !important; color: #5f6673 !important; }
[data-testid="stCaptionContainer"] p { color: #5f6673 !important; }
/* A button's keyboard-shortcut hint (flashcards: "Space") is drawn at opacity 0.6: white on our
   primary blue then fails contrast (axe); at full opacity it is 6:1. */
kbd[aria-label^="Shortcut"] { opacity: 1 !important; }
/* Chinese metric values (a number and a unit): digits and characters from one font, not two. */
:lang(zh) [data-testid="stMetricValue"] {
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
</style>
"""


# Charts' text alternative (ui.plot.show puts it in the figure's layout.meta.alt): once per
# browser tab, an observer copies it onto each chart element as role="figure" + aria-label.
_LABEL_CHARTS_JS = """
if (!window.__tilChartLabels) {
  window.__tilChartLabels = true;
  const label = () => document.querySelectorAll('[data-testid="stPlotlyChart"]').forEach(box => {
    const gd = box.querySelector('.js-plotly-plot');
    const alt = gd && gd.layout && gd.layout.meta && gd.layout.meta.alt;
    if (alt && box.getAttribute('aria-label') !== alt) {
      box.setAttribute('role', 'figure');
      box.setAttribute('aria-label', alt);
    }
  });
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; setTimeout(() => { queued = false; label(); }, 250); }
  }).observe(document.body, {childList: true, subtree: true});
  label();
}
"""


# The tab's icon (assets/favicon.svg: a causal attention mask), set by the page script below
# rather than by st.set_page_config(page_icon=...): Streamlit turns any image icon into a URL
# with numpy and PIL, ~0.1 s of imports that a newcomer's first page would otherwise wait for
# (cold start, bench/cold_start.py). Streamlit sets its own icon once, when the tab opens;
# this runs after that.
_FAVICON_URL = "data:image/svg+xml;base64," + base64.b64encode(
    (APP_PATH.parent / "assets" / "favicon.svg").read_bytes()).decode()
_FAVICON_JS = f"""
for (const link of document.querySelectorAll("link[rel~='icon']")) link.href = {_FAVICON_URL!r};
"""


def apply_base() -> None:
    """House CSS (no layout space: style-only st.html goes to the event container), the tab's
    icon, and the document's `lang` attribute set to the page language (Streamlit's index.html
    says `en`): screen readers pick their voice from it, and it selects the CJK font for
    `:lang(zh)`."""
    st.html(_BASE_CSS)
    code = "zh-CN" if lang() == "zh" else "en"
    st.html(f"<script>document.documentElement.lang = {code!r};{_FAVICON_JS}{_LABEL_CHARTS_JS}</script>",
            unsafe_allow_javascript=True, width="content")


def panels(spec: int | list[float], *, key: str, **kwargs):
    """st.columns for panels that need room (text, code, a chart): on a narrow main area (an 800 px
    projector or a split laptop screen, sidebar open) they go under each other instead of each
    shrinking below 16rem (house CSS, `st-key-panels-*`). `key` names the row, unique on its page."""
    return st.container(key=f"panels-{key}").columns(spec, **kwargs)


def unknown_url_path(known: set[str]) -> str | None:
    """The path segment the browser asked for when it names no registered page (/nope?lang=zh),
    else None. st.navigation would show Streamlit's English "Page not found" for it; app.py
    registers a hidden page of ours at that path instead."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or ctx.pages_manager.intended_page_script_hash:
        return None
    name = (ctx.pages_manager.intended_page_name or "").strip("/")
    if not name or name in known or "/" in name:
        return None
    return name


def not_found() -> None:
    """Our page for an unknown URL, in the page language, with a way home."""
    st.session_state[_CURRENT_PAGE] = "not_found"
    st.title(t("not_found_title"))
    st.info(t("not_found_text"), icon=":material/explore_off:")
    st.page_link("pages/home.py", label=t("page_home"), icon=":material/home:", query_params={"lang": lang()})


PRESENT_KEY = "present"
_PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarCollapseButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 1.2rem 3rem 2rem 3rem !important; }
html, body, [data-testid="stMain"] { font-size: 21px !important; }
[data-testid="stMain"] h1 { font-size: 2.6rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.25rem !important; }
</style>
"""


def init_present() -> bool:
    """Presentation mode (`?present=1`): no sidebar or chrome, larger fonts."""
    if PRESENT_KEY not in st.session_state:
        st.session_state[PRESENT_KEY] = st.query_params.get(PRESENT_KEY) in ("1", "true")
    return bool(st.session_state[PRESENT_KEY])


def set_present(on: bool) -> None:
    st.session_state[PRESENT_KEY] = on


# A page embedded in a lesson step (st.context.is_embedded): tighter, with a small title.
_EMBEDDED_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding: 0.4rem 1rem 1rem 1rem !important; }
html, body, [data-testid="stMain"] { font-size: 15px !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 0.95rem !important; }
[data-testid="stMain"] h1 { font-size: 1.3rem !important; padding: 0 !important; }
</style>
"""


def apply_present_mode() -> None:
    st.html(_PRESENT_CSS + (_EMBEDDED_CSS if st.context.is_embedded else ""))


def share_link() -> str:
    """The URL of the current view: page path plus every query parameter (lang, widget state),
    except `learner`: a shared link must not put its reader on the sharer's progress."""
    from urllib.parse import urlencode

    base = st.context.url or ""
    query = urlencode({k: v for k, v in st.query_params.to_dict().items() if k != "learner"})
    return f"{base}?{query}" if query else base


_WARM_STARTED = threading.Lock()
_WARM_THREAD: list[threading.Thread] = []
# The warm-up waits this long after the first script run: the browser is still drawing that page
# (its scripts, fonts, components), and on a 2-core machine a torch import beside it delays the
# newcomer's first page (bench/cold_start.py: 3.44 s median without the wait, 3.10 s with it).
WARM_UP_DELAY_S = 1.5


def warm_up(*loaders: Callable[[], object]) -> None:
    """Once per process, after the first page has rendered: a background thread runs `loaders`
    (app.py passes the question bank's), then imports torch (one intra-op thread) and the model
    code, so that the first demo page a visitor opens does not wait ~2-10 s for them; the first
    page (home, for a newcomer) needs none of them and shows without them. A page opened before
    the warm-up is done imports what it needs itself (the import lock makes the two share it)."""
    if not _WARM_STARTED.acquire(blocking=False):
        return

    def _work() -> None:
        time.sleep(WARM_UP_DELAY_S)
        for load in loaders:
            load()
        import torch

        torch.set_num_threads(1)
        import model  # noqa: F401

        # settle_heap for the first page and for all of the above (it skipped that page's own)
        gc.collect()
        gc.freeze()

    _WARM_THREAD[:] = [threading.Thread(target=_work, name="til-warm-up", daemon=True)]
    _WARM_THREAD[0].start()


def wait_warm_up(timeout: float | None = None) -> bool:
    """Wait for the background warm-up (if started) to finish; True when none is running.
    For tests that measure a page's memory or time without the warm-up's torch import in it."""
    if _WARM_THREAD:
        _WARM_THREAD[0].join(timeout)
        return not _WARM_THREAD[0].is_alive()
    return True


_SETTLED: set[str] = set()


def settle_heap() -> None:
    """Once per page per process, after that page's first run: `gc.collect()` then `gc.freeze()`.

    A page's first run loads long-lived objects (torch, models, the question bank, cached
    figures). Left in the collector's oldest generation, every full collection walks them all:
    0.1-0.5 s on a busy 2-core machine, i.e. the p95 of ordinary widget changes. Frozen objects
    are still freed by reference counting; only cycles among objects alive at a freeze are
    never collected, and that happens at most once per page per process (bounded).
    """
    page_id = current_page() or ""
    if page_id not in _SETTLED:
        _SETTLED.add(page_id)
        if _WARM_THREAD and _WARM_THREAD[0].is_alive():
            return  # the process's first page: the warm-up collects and freezes when done, off this run
        gc.collect()
        gc.freeze()


# Every ASCII punctuation character may be backslash-escaped in CommonMark (and GFM, Streamlit's
# directives `:material/x:`, `:red[..]`, emoji `:x:`, KaTeX `$`): escaping them all leaves no
# inline construct (link, image, autolink, emphasis, code, HTML, entity `&..;`) and no bare URL
# or e-mail for GFM to autolink (`http\:\/\/`, `a\@b\.c`).
_MD_PUNCT = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# Line breaks would start block constructs (headings, lists, quotes, tables, fences): one space.
_MD_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
# GFM turns bare `http(s)://…`, `www.…` and `a@b.c` in TEXT into links after parsing (escapes do
# not stop it; found by tests/security/test_browser_exfil.py): a WORD JOINER (U+2060, invisible)
# after `http`, `https`, `www` or `@` breaks those patterns.
_MD_AUTOLINK = re.compile(r"(?i)(\bhttps?(?=:)|\bwww(?=\.)|@)")
# Runs of spaces and tabs: one space (an HTML page shows one anyway; 4 would start a code block,
# 2 at the end a hard break).
_MD_SPACES = re.compile(r"[ \t]{2,}|\t")
# Controls and invisible format characters (NUL, bidi overrides, zero-width): shown as U+FFFD.
_MD_HIDDEN = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f"
                        r"\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")


def md_plain(text: object, limit: int | None = None) -> str:
    """Text from a user, a file or a URL, to be placed inside Markdown (messages, headings, widget
    labels): shown exactly as typed, never as a link, image, HTML or formatting.

    Every ASCII punctuation character is backslash-escaped, line breaks and runs of spaces or
    tabs become one space (no block constructs), control and invisible format characters (bidi overrides, zero-width) become
    U+FFFD. `limit` cuts the text (before escaping) to that many characters plus "…".
    The one helper for this (tests/security/test_markdown_escape.py finds the calls that need it)."""
    raw = str(text)
    if limit is not None and len(raw) > limit:
        raw = raw[:limit] + "…"
    raw = _MD_HIDDEN.sub("\ufffd", _MD_SPACES.sub(" ", _MD_BREAKS.sub(" ", raw)))
    return _MD_PUNCT.sub(r"\\\1", _MD_AUTOLINK.sub("\\1\u2060", raw))
