from ui import shell

shell.page("sampling")
import streamlit as st

from demos import llm
from demos import sampling as D
from figures import sampling as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "sampling"
DEFAULT_PROMPT = "Q: What is the KV cache?\nA: The KV cache "
TOP_N = 30


def T(key: str, **fmt) -> str:
    return shell.t(f"sampling.{key}", **fmt)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
lm = compute.call(llm.load, "lm")
if not lm.trained:
    st.info(T("no_model", reason=shell.md_plain(lm.reason)), icon=":material/info:")
prompt = state.text_area("prompt", T("prompt"), DEFAULT_PROMPT, max_chars=llm.MAX_PROMPT_CHARS, height=90,
                         help=T("prompt_help"))
c1, c2, c3 = st.columns(3)
with c1:
    temperature = state.slider("temperature", T("temperature"), 0.0, 2.0, 1.0, step=0.05)
with c2:
    k = state.slider("top_k", T("top_k"), 0, 50, 0)
with c3:
    p = state.slider("top_p", T("top_p"), 0.05, 1.0, 0.9, step=0.05)
top_k, top_p = (k or None), (p if p < 1.0 else None)
ids, dropped = llm.encode(lm, prompt)
if dropped:
    st.caption(T("unknown_chars", chars=shell.md_plain(" ".join(dropped))))

if not ids:
    st.warning(T("empty_prompt"), icon=":material/edit:")
elif section == "distribution":
    logits = compute.cached("logits", tuple(ids), lambda: D.next_logits(lm.net, ids), keep=64)
    f = D.apply(logits, temperature, top_k, top_p)
    order = D.top_order(f, TOP_N)
    labels = [llm.token_label(lm, int(i)) for i in order]
    m = st.columns(5)
    m[0].metric(T("m_top"), llm.token_label(lm, int(order[0])))
    m[1].metric(T("m_kept", V=len(f.kept)), f"{f.n_kept}")
    m[2].metric(T("m_mass"), f"{f.kept_mass:.3f}")
    m[3].metric(T("m_h0"), f"{f.h0:.2f}")
    m[4].metric(T("m_h"), f"{f.h:.2f}")
    if f.greedy:
        st.info(T("greedy_note"), icon=":material/trending_flat:")
    plot.show(plot.call(F.distribution, labels, f.probs0[order], f.probs[order], f.kept[order],
                        title=T("dist_title", n=TOP_N), raw_label=T("raw"), kept_label=T("kept"), cut_label=T("cut"),
                        y_title=T("prob")), "dist")
    if not f.greedy:
        tk = D.apply(logits, temperature, top_k, None)       # before the nucleus cut
        plot.show(plot.call(F.cumulative, tk.sorted_probs(), f.n_kept, top_p, title=T("cum_title"), x_title=T("cum_x"),
                            y_title=T("cum_y"), p_label=T("p_line", p=top_p)), "cum")
    st.table({T("table_token"): labels[:12], T("table_raw"): [f"{x:.4f}" for x in f.probs0[order][:12]],
                  T("table_p"): [f"{x:.4f}" for x in f.probs[order][:12]],
                  T("table_kept"): ["✓" if x else "✗" for x in f.kept[order][:12]]}, hide_index=True)
else:
    st.markdown(T("exp_samples"))
    c1, c2, c3 = st.columns(3)
    with c1:
        seed = state.number("seed", T("seed"), 0, 10_000, 0)
    with c2:
        n = state.slider("n", T("n_samples"), 1, D.MAX_SAMPLES, 4)
    with c3:
        max_new = state.slider("max_new", T("max_new"), 10, D.MAX_NEW, 60, step=10)
    outs = compute.cached("samples", (tuple(ids), n, max_new, temperature, top_k, top_p, int(seed)),
                          lambda: D.samples(lm.net, ids, n, max_new, temperature, top_k, top_p, int(seed)), keep=64)
    head = llm.decode(lm, ids)
    for j, o in enumerate(outs):
        st.markdown(f"**{T('sample_label', j=j + 1, s=int(seed) + j)}**")
        st.code(head + llm.decode(lm, o), language=None, wrap_lines=True)
    st.caption(T("distinct", n=len(outs), d=len({tuple(o) for o in outs})))

demo_footer(DEMO)
