from ui import shell

shell.page("shapes")
import pandas as pd
import streamlit as st

from demos import shapes as D
from figures import shapes as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

PAGE = "shapes"
DEFAULTS = {"B": 2, "S": 5, "T": 4, "d_model": 64, "heads": 4, "layers": 2}


def T_(key: str, **fmt: object) -> str:
    return shell.t(f"shapes.{key}", **fmt)


def memo(name: str, key: tuple, build):
    """A built figure, cached by everything it shows (size-bounded figure cache)."""
    return plot.cached(name, key, build)


D.warm_up_meta()   # the meta device's first use costs ~1 s: do it before a big configuration asks


def step_label(s: D.Step) -> str:
    n = "" if s.layer is None else s.layer + 1
    return f"{T_(f'stack_{s.stack}', n=n)} · {T_(f'part_{s.part}')}"


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def fmt_symbols(symbols: tuple[str, ...]) -> str:
    return "(" + ", ".join(symbols) + ")"


def legend() -> dict[str, str]:
    return {s: T_(f"sym_{s}") for s in D.SYMBOLS}


def new_sizes() -> None:
    """Quiz: random sizes (each symbol a different number, so the answer is unambiguous)."""
    for k, v in D.random_sizes().items():
        st.session_state[f"{PAGE}:{k}"] = v
    st.session_state[f"{PAGE}:sentences"] = ""


# ----------------------------------------------------------------------------------------------

st.markdown(T_("intro"))
section = state.section(list(DEMO_SECTIONS[PAGE]), T_("sections"), lambda s: T_(f"sec_{s}"))

with st.container(border=True):
    sentences_text = state.text("sentences", T_("sentences"), "", max_chars=D.MAX_SENTENCE_CHARS,
                                help=T_("sentences_help"))
    typed = D.parse_sentences(sentences_text)
    if sentences_text.strip() and not typed:
        st.info(T_("sentences_none"))
    if typed:   # the disabled sliders show what the typed batch sets
        st.session_state[f"{PAGE}:B"], st.session_state[f"{PAGE}:S"] = D.typed_sizes(typed)
    c = st.columns(6)
    with c[0]:
        B = state.slider("B", T_("B"), 1, D.MAX_B, DEFAULTS["B"], disabled=bool(typed))
    with c[1]:
        S = state.slider("S", T_("S"), 1, D.MAX_LEN, DEFAULTS["S"], disabled=bool(typed))
    with c[2]:
        T = state.slider("T", T_("T"), 1, D.MAX_LEN, DEFAULTS["T"])
    with c[3]:
        d_model = state.select("d_model", T_("d_model"), list(D.D_MODEL_OPTIONS), DEFAULTS["d_model"])
    with c[4]:
        heads = state.select("heads", T_("heads"), list(D.HEAD_OPTIONS), DEFAULTS["heads"])
    with c[5]:
        layers = state.slider("layers", T_("layers"), 1, D.MAX_LAYERS, DEFAULTS["layers"])
    if typed:
        st.caption(T_("sliders_off"))
        if D.sentences_cut(sentences_text, typed):
            st.info(T_("sentences_cut", n=D.MAX_SENTENCE_CHARS))

key = (B, S, T, d_model, heads, layers, D.typed_batch(typed))
tr = compute.call(D.page_trace, *key, keep=64)
vals = tr.values
if typed:
    st.caption(T_("sentences_used"))
    st.dataframe(pd.DataFrame(tr.src_tokens, columns=[str(i) for i in range(vals["S"])]), hide_index=False)
st.markdown(T_("config_line", **vals))
lang = shell.lang()


def section_trace() -> None:
    st.caption(T_("steps_count", n=len(tr.steps), layers=layers))
    only_first = state.toggle("compact", T_("compact"), True)
    steps = D.compact(tr.steps) if only_first else tr.steps
    labels = [step_label(s) for s in steps]
    fig = memo("flow", (key, only_first, lang), lambda: F.shape_flow(
        labels, [s.shape for s in steps], [s.symbols for s in steps], title=T_("flow_title"),
        step_title=T_("step"), legend=legend()))
    plot.show(fig, "flow")
    st.subheader(T_("table_title"))
    df = pd.DataFrame({
        T_("col_n"): range(1, len(steps) + 1),
        T_("col_step"): labels,
        T_("col_shape"): [fmt_shape(s.shape) for s in steps],
        T_("col_symbols"): [fmt_symbols(s.symbols) for s in steps],
        T_("col_name"): [s.name for s in steps],
    })
    st.dataframe(df, hide_index=True, width="stretch", height=min(35 * len(steps) + 40, 1400))
    st.info(T_("notes"), icon=":material/lightbulb:")


def section_quiz() -> None:
    st.markdown(T_("quiz_intro"))
    steps = D.quiz_steps(tr)
    sig = "-".join(map(str, (vals["B"], vals["S"], T, d_model, heads, layers)))
    checked_key, reveal_key = f"{PAGE}:quiz_checked:{sig}", f"{PAGE}:quiz_reveal"
    revealed = bool(st.session_state.get(reveal_key, False))
    bar = st.container(horizontal=True)
    bar.button(T_("quiz_hide") if revealed else T_("quiz_reveal"), icon=":material/visibility:",
                on_click=lambda: st.session_state.__setitem__(reveal_key, not revealed), key="quiz_reveal_btn")
    bar.button(T_("quiz_new"), icon=":material/casino:", on_click=new_sizes, key="quiz_new_btn")

    def clear() -> None:
        for s in steps:
            st.session_state.pop(f"quiz:{sig}:{s.name}", None)
        st.session_state[checked_key] = False

    bar.button(T_("quiz_reset"), icon=":material/restart_alt:", on_click=clear, key="quiz_clear_btn")
    checked = bool(st.session_state.get(checked_key, False))
    results: dict[str, bool | None | str] = {}   # True / False / None (unreadable) / "unanswered"
    with st.form(f"quiz-form-{sig}", border=True):
        for i, s in enumerate(steps):
            c1, c2, c3 = st.columns([3, 2, 3], vertical_alignment="center")
            c1.markdown(f"**{i + 1}. {step_label(s)}**")
            guess = c2.text_input(T_("quiz_guess"), key=f"quiz:{sig}:{s.name}", max_chars=60,
                                  placeholder=T_("quiz_placeholder"), label_visibility="collapsed")
            verdict = D.check_guess(guess, s.shape, vals) if checked and guess.strip() else None
            results[s.name] = verdict if checked and guess.strip() else "unanswered"
            shape, syms = fmt_shape(s.shape), fmt_symbols(s.symbols)
            if checked and guess.strip():
                if verdict is None:
                    c3.warning(T_("quiz_unreadable"), icon=":material/help:")
                elif verdict:
                    c3.success(T_("quiz_right", shape=shape), icon=":material/check_circle:")
                else:
                    c3.error(T_("quiz_wrong", shape=shape, symbols=syms), icon=":material/cancel:")
            elif revealed:
                c3.info(T_("quiz_answer", shape=shape, symbols=syms))
            else:
                c3.caption(T_("quiz_hidden"))
        st.form_submit_button(T_("quiz_check"), type="primary", icon=":material/check:",
                              on_click=lambda: st.session_state.__setitem__(checked_key, True))
    answered = sum(v != "unanswered" for v in results.values())
    right = sum(v is True for v in results.values())
    st.progress(right / len(steps), text=T_("quiz_score", right=right, n=len(steps), answered=answered))
    if right == len(steps):
        st.success(T_("quiz_done"), icon=":material/celebration:")
    shown = [revealed or results[s.name] in (True, False) for s in steps]
    labels = [f"{i + 1}. {step_label(s)}" for i, s in enumerate(steps)]
    fig = memo("quiz-flow", (key, tuple(shown), lang), lambda: F.shape_flow(
        labels, [s.shape for s in steps], [s.symbols for s in steps], title=T_("quiz_flow_title"),
        step_title=T_("step"), legend=legend(), hidden=[not x for x in shown]))
    plot.show(fig, "quiz-flow")


if section == "quiz":
    section_quiz()
else:
    section_trace()

demo_footer(PAGE)
