"""课堂讲解 / Lessons: an instructor steps through a lesson, one step per screen.

URL state: `?lesson=<id>&step=<n>` (n is 1-based). Without `lesson`, the page lists the lessons.
Keys: → next step, ← previous step (st.button shortcuts). Each step shows its talking point, its
card (question; answer folded) and its demo, live, in an embedded frame of the demo page with the
step's parameters (plus a button to open the demo full page in the same state).
"""
from ui import shell

lang = shell.page("lessons", title=False)
import streamlit as st

import lessons as lessons_pkg
from questions.bank import fingerprint as bank_fingerprint
from questions.schema import DEMOS, DemoLink
from ui import compute, state
from ui.cards import get_bank, render_card

_LESSON = "_lessons:lesson"
_STEP = "_lessons:step"      # 0-based in session, 1-based in the URL
_PUBLISHED = "_lessons:url"  # (lesson, step) as last written to the URL
DEMO_HEIGHT = 600  # fits under the step header on a 1400×900 screen in presentation mode


def load() -> lessons_pkg.Lessons:
    """The lessons, loaded once per process and state of the lesson files and the bank."""
    lessons_key, bank_key = lessons_pkg.fingerprint(), bank_fingerprint()
    return compute.cached("lessons", (lessons_key, bank_key), lambda: lessons_pkg.load_lessons(
        lessons_key[0], known_cards=set(get_bank().by_id)), keep=4)


# ---- state: session first, the URL when it changed from outside (a link, first load) ----
def _parse_step(raw: str | None) -> int | None:
    try:
        return int(raw) - 1 if raw is not None else 0
    except ValueError:
        return None


def _sync_from_url() -> None:
    url = (st.query_params.get("lesson"), st.query_params.get("step"))
    if st.session_state.get(_PUBLISHED) == url and _LESSON in st.session_state:
        return
    st.session_state[_LESSON] = url[0]
    step = _parse_step(url[1])
    if step is None:
        state.warn_param("step", url[1])
        step = 0
    st.session_state[_STEP] = step


def _publish() -> None:
    lesson_id, step = st.session_state.get(_LESSON), st.session_state.get(_STEP, 0)
    if lesson_id:
        st.query_params["lesson"] = lesson_id
        st.query_params["step"] = str(step + 1)
        st.session_state[_PUBLISHED] = (lesson_id, str(step + 1))
    else:
        st.query_params.pop("lesson", None)
        st.query_params.pop("step", None)
        st.session_state[_PUBLISHED] = (None, None)


def _open(lesson_id: str | None, present: bool | None = None) -> None:
    st.session_state[_LESSON] = lesson_id
    st.session_state[_STEP] = 0
    if present is not None:
        shell.set_present(present)


def _move(delta: int, total: int) -> None:
    st.session_state[_STEP] = max(0, min(total - 1, st.session_state.get(_STEP, 0) + delta))


def _go(index: int) -> None:
    st.session_state[_STEP] = index


# ---- demo embedding ----
def demo_query(demo: DemoLink, lang: str, present: bool = True) -> dict[str, str]:
    params = {k: str(v) for k, v in demo.params.items()}
    params["lang"] = lang
    if present:
        params["present"] = "1"
    return params


def demo_frame_url(demo: DemoLink, lang: str) -> str:
    """Absolute URL of the demo page in its step state, embedded (no Streamlit chrome)."""
    from urllib.parse import urlencode

    query = urlencode({**demo_query(demo, lang), "embed": "true"})
    base = st.context.url or ""
    root = base.rsplit("/", 1)[0] if base.rstrip("/").endswith("/lessons") else base.rstrip("/")
    return f"{root}/{demo.id}?{query}"


def _open_demo(demo: DemoLink) -> None:
    # ui.state reads a page's URL params on its first run only: drop the session values first
    for name in demo.params:
        st.session_state.pop(f"{demo.id}:{name}", None)
    st.switch_page(f"pages/{demo.id}.py", query_params=demo_query(demo, lang, present=shell.init_present()))


# ---- views ----
def show_list(result: lessons_pkg.Lessons) -> None:
    st.title(shell.t("common.page_lessons"))
    st.caption(shell.t("lessons.intro"))
    if not len(result):
        st.info(shell.t("lessons.no_lessons"))
    for lesson in result.lessons.values():
        with st.container(border=True):
            st.subheader(lesson.title.get(lang))
            if lesson.summary:
                st.markdown(lesson.summary.get(lang))
            meta = shell.t("lessons.meta_minutes", n=len(lesson), minutes=lesson.minutes) if lesson.minutes \
                else shell.t("lessons.meta", n=len(lesson))
            st.caption(meta)
            with st.container(horizontal=True, gap="small"):
                st.button(shell.t("lessons.start"), key=f"start:{lesson.id}", icon=":material/play_arrow:",
                          type="primary", on_click=_open, args=(lesson.id,))
                st.button(shell.t("lessons.start_present"), key=f"present:{lesson.id}",
                          icon=":material/co_present:", on_click=_open, args=(lesson.id, True))
    with st.expander(shell.t("lessons.howto_title"), icon=":material/edit_note:"):
        st.markdown(shell.t("lessons.howto_body"))
        st.code(shell.t("lessons.howto_yaml"), language="yaml")


def clamp_step(lesson: lessons_pkg.Lesson) -> int:
    """The current step index, put back into range (with a notice) when a link asked for too much."""
    total = len(lesson)
    index = max(0, min(total - 1, st.session_state.get(_STEP, 0)))
    if index != st.session_state.get(_STEP, 0):
        st.toast(shell.t("bad_param", name="step", value=str(st.session_state.get(_STEP, 0) + 1)),
                 icon=":material/warning:")
        st.session_state[_STEP] = index
    return index


def show_step(lesson: lessons_pkg.Lesson, index: int) -> None:
    total = len(lesson)
    step = lesson.steps[index]
    present = shell.init_present()

    st.title(lesson.title.get(lang))
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.button(shell.t("lessons.prev"), key="lesson_prev", shortcut="ArrowLeft",
                  disabled=index == 0, on_click=_move, args=(-1, total))
        st.markdown(f"**{shell.t('lessons.counter', i=index + 1, n=total)}**", width="content")
        st.button(shell.t("lessons.next"), key="lesson_next",
                  shortcut="ArrowRight", type="primary", disabled=index == total - 1, on_click=_move, args=(1, total))
        st.space("stretch")
        if not present:
            st.button(shell.t("lessons.present_this"), key="lesson_present", icon=":material/co_present:",
                      on_click=shell.set_present, args=(True,))
        st.button(shell.t("lessons.back_to_list"), key="lesson_list", icon=":material/list:", type="tertiary",
                  on_click=_open, args=(None,))
    st.progress((index + 1) / total)

    card = get_bank().get(step.card) if step.card else None
    if step.demo is not None:
        left, right = shell.panels([2, 3], key="step", gap="medium")
    else:
        left = right = st.container()
    with left:
        st.info(step.talking_point.get(lang), icon=":material/record_voice_over:")
        if step.card and card is None:
            st.warning(shell.t("lessons.card_missing", id=step.card), icon=":material/warning:")
        if card is not None:
            st.subheader(card.question.get(lang))
            with st.expander(shell.t("lessons.answer"), icon=":material/visibility:"):
                render_card(card, lang, key_prefix=f"lesson:{lesson.id}:{index}", show_question=False)
    if step.demo is not None:
        with right:
            demo = step.demo
            with st.container(horizontal=True, horizontal_alignment="right"):
                if st.button(shell.t("lessons.open_full"), key="lesson_open_demo", icon=":material/open_in_full:",
                             type="tertiary"):
                    _open_demo(demo)
            st.iframe(demo_frame_url(demo, lang), height=DEMO_HEIGHT, tab_index=-1,
                      alt=shell.t("lessons.demo_alt", demo=DEMOS[demo.id][0 if lang == "zh" else 1]))
    if index == total - 1:
        st.success(shell.t("lessons.the_end"), icon=":material/flag:")
    st.caption(shell.t("lessons.keys_hint"))


result = load()
if result.problems:
    st.warning(shell.t("lessons.bad_files", n=len(result.problems)), icon=":material/warning:")
    with st.expander(shell.t("lessons.problems_detail", n=len(result.problems))):
        st.code("\n".join(str(p) for p in result.problems), language=None, wrap_lines=True)

_sync_from_url()
lesson_id = st.session_state.get(_LESSON)
current = result.get(lesson_id)
if lesson_id and current is None:
    st.warning(shell.t("lessons.not_found", id=shell.md_plain(lesson_id, limit=60)), icon=":material/search_off:")
    st.session_state[_LESSON] = None
if current is None:
    _publish()
    show_list(result)
else:
    at_step = clamp_step(current)
    _publish()   # before drawing: the URL is right even while the step renders
    show_step(current, at_step)
