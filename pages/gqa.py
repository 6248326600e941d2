from ui import shell

shell.page("gqa")
import streamlit as st

from demos import gqa as D
from demos import llm
from figures import gqa as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "gqa"
DEFAULT_TEXT = "Q: What is GQA?\nA: Grouped-query attention"


def T(key: str, **fmt) -> str:
    return shell.t(f"gqa.{key}", **fmt)


def kind(h: int, g: int) -> str:
    return T("kind_mha") if g == h else T("kind_mqa") if g == 1 else T("kind_gqa", r=h // g)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
lm = compute.call(llm.load, "lm")
cfg = lm.cfg

if section == "compare":
    h = D.COMPARE_HEADS
    opts = D.kv_options(h)
    g = state.select("n_kv_heads", T("n_kv_heads", h=h), opts, 2, widget="segmented")
    plot.show(plot.call(F.sharing_map, h, D.group_of(h, g), title=T("map_title", kind=kind(h, g)),
                        q_title=T("q_heads"), kv_title=T("kv_heads")), "map")
    st.markdown(T("exp_compare", d=cfg.d_model, L=cfg.n_layers, h=h, T=D.TIMING_T, B=D.TIMING_BATCH))
    with st.spinner(T("measuring")):
        vs = compute.cached("variants", (), lambda: D.variants(cfg))
    cur = next(i for i, v in enumerate(vs) if v.n_kv_heads == g)
    v, mha = vs[cur], vs[-1]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(T("m_params"), f"{v.params:,}", f"{v.params - mha.params:+,}" if g != h else None, delta_color="off")
    m2.metric(T("m_attn"), f"{v.attn_params:,}")
    m3.metric(T("m_cache"), f"{v.cache_bytes / 1024:,.0f} KiB",
              T("vs_mha", r=mha.cache_bytes // v.cache_bytes) if g != h else None, delta_color="off")
    m4.metric(T("m_ms"), f"{v.ms:.2f} ms")
    labels = [f"g={x.n_kv_heads}" for x in vs]
    plot.show(plot.call(F.compare_bars, labels, {T("b_params"): [x.params for x in vs],
                                                 T("b_cache"): [x.cache_bytes / 1024 for x in vs],
                                                 T("b_ms"): [x.ms for x in vs]},
                        title=T("cmp_title"), current=cur, fmt=",.1f"), "compare")
    st.caption(T("timing_note"))

else:
    st.markdown(T("exp_heads", h=cfg.n_heads, g=cfg.n_kv_heads))
    if not lm.trained:
        st.info(T("no_model", reason=shell.md_plain(lm.reason)), icon=":material/info:")
    c1, c2 = st.columns([3, 1])
    with c1:
        text = state.text_area("prompt", T("prompt"), DEFAULT_TEXT, max_chars=48, height=80)
    with c2:
        layer = state.slider("layer", T("layer"), 1, cfg.n_layers, cfg.n_layers)
    ids, _ = llm.encode(lm, text, 48)
    if not ids:
        st.warning(T("empty_prompt"), icon=":material/edit:")
    else:
        w, diff = compute.cached("attention", tuple(ids), lambda: (D.attention(lm.net, ids),
                                                                   D.mha_equivalence(lm.net, ids)), keep=32)
        labels = [llm.token_label(lm, i) for i in ids]
        groups = D.group_of(cfg.n_heads, cfg.n_kv_heads)
        plot.show(plot.call(F.sharing_map, cfg.n_heads, groups, title=T("map_title", kind=kind(cfg.n_heads, cfg.n_kv_heads)),
                            q_title=T("q_heads"), kv_title=T("kv_heads")), "lm_map")
        plot.show(plot.call(F.grouped_heads, w[layer - 1], groups, labels, title=T("heads_title", l=layer),
                            head_label=T("head"), kv_label=T("kv")), "heads")
        st.success(T("equiv", r=cfg.n_rep, diff=diff), icon=":material/check_circle:")

demo_footer(DEMO)
