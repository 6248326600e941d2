from ui import shell

shell.page("ffn_cost")
import streamlit as st

from demos import ffn_cost as D
from figures import ffn_cost as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "ffn_cost"
HEADS = [1, 2, 4, 8, 16, 32]


def T(key: str, **fmt) -> str:
    return shell.t(f"demo_ffn.{key}", **fmt)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
c1, c2 = st.columns(2)
with c1:
    d = state.slider("d_model", T("d_model"), 64, 2048, 512, step=64)
d_ff = 4 * d
if section != "ffn":
    with c2:
        n = state.slider("seq_len", T("seq_len"), 16, 16384, 512, step=16)

if section == "ffn":
    with c2:
        h = state.select("heads", T("heads"), HEADS, 8, widget="segmented")
    if d % h:
        h = 1
    st.markdown(T("exp_ffn"))
    attn, ffn = D.attn_params(d), D.ffn_params(d, d_ff)
    enc, dec = D.encoder_layer_params(d, d_ff), D.decoder_layer_params(d, d_ff)
    m1, m2, m3 = st.columns(3)
    m1.metric(T("m_ffn"), f"{ffn:,}")
    m2.metric(T("m_attn"), f"{attn:,}")
    m3.metric(T("m_share"), f"{ffn / enc:.1%}")
    plot.show(plot.cached("diagram", (d, d_ff), lambda: F.ffn_diagram(
        d, d_ff, title=T("diagram_title", d=d), in_label=T("in_label"), hidden_label=T("hidden_label"),
        out_label=T("out_label"), w1_label=T("w1"), w2_label=T("w2"))), "diagram")
    parts = {T("p_self"): [attn, attn], T("p_cross"): [0, attn], T("p_ffn"): [ffn, ffn],
             T("p_norm"): [2 * D.layernorm_params(d), 3 * D.layernorm_params(d)]}
    plot.show(plot.cached("params", (d, d_ff, h), lambda: F.param_bars(
        [T("enc_layer"), T("dec_layer")], parts, title=T("params_title", d=d, d_ff=d_ff, h=h),
        y_title=T("params_y"))), "params")
    real = compute.call(D.model_params, d, d_ff, 1, h, keep=128)
    rows = [("MultiHeadAttention", attn, real["attn"]), ("PositionwiseFeedForward", ffn, real["ffn"]),
            ("EncoderLayer", enc, real["encoder_layer"]), ("DecoderLayer", dec, real["decoder_layer"])]
    ok = all(a == b for _, a, b in rows)
    st.markdown(T("checked") + "  **" + (T("check_ok") if ok else T("check_bad")) + "**")
    st.dataframe({T("module"): [r[0] for r in rows], T("formula"): [f"{r[1]:,}" for r in rows],
                  T("model_count"): [f"{r[2]:,}" for r in rows]}, hide_index=True)

elif section == "flops":
    st.markdown(T("exp_flops"))
    grid = D.seq_grid(120)
    f = D.block_flops(grid, d, d_ff)
    parts = {T("f_proj"): f["proj_qkvo"], T("f_qk"): f["scores_qk"], T("f_av"): f["weights_v"],
             T("f_ffn"): f["ffn"], T("f_attn2"): f["scores_qk"] + f["weights_v"]}
    cross = D.crossover(d)
    now = D.block_flops(n, d, d_ff)
    total = float(sum(now.values()))
    m1, m2, m3 = st.columns(3)
    m1.metric(T("m_total"), f"{total:.3g}")
    m2.metric(T("m_attn_share"), f"{(now['scores_qk'] + now['weights_v']) / total:.1%}")
    m3.metric(T("m_cross"), f"{cross:,}")
    plot.show(plot.cached("flops", (d, d_ff, n), lambda: F.flops_plot(
        grid, parts, n, cross, title=T("flops_title", d=d), x_title=T("flops_x"), y_title=T("flops_y"),
        cross_label=T("cross_label", n=f"{cross:,}"), current_label=T("current_label", n=f"{n:,}"))), "flops")
    plot.show(plot.cached("share", (d, d_ff, n), lambda: F.share_bar(
        {T("f_proj"): float(now["proj_qkvo"]), T("f_qk"): float(now["scores_qk"]),
         T("f_av"): float(now["weights_v"]), T("f_ffn"): float(now["ffn"])},
        title=T("share_title", n=f"{n:,}"), x_title=T("share_x"))), "share")

elif section == "memory":
    st.markdown(T("exp_memory"))
    c1, c2, c3 = st.columns(3)
    with c1:
        h = state.select("heads", T("heads"), HEADS, 8, widget="segmented")
    with c2:
        L = state.slider("layers", T("layers"), 1, 48, 6)
    with c3:
        B = state.slider("batch", T("batch"), 1, 64, 1)
    grid = D.seq_grid(80)
    series = {T("mem_one_fp32"): D.attention_matrix_bytes(grid, "fp32"),
              T("mem_one_fp16"): D.attention_matrix_bytes(grid, "fp16"),
              T("mem_all_fp32"): D.attention_matrix_bytes(grid, "fp32", h, L, B),
              T("mem_all_fp16"): D.attention_matrix_bytes(grid, "fp16", h, L, B)}
    cols = st.columns(4)
    for i, t in enumerate(("fp32", "fp16")):
        cols[i].metric(T("m_one", t=t), D.human_bytes(float(D.attention_matrix_bytes(n, t))))
        cols[i + 2].metric(T("m_all", t=t), D.human_bytes(float(D.attention_matrix_bytes(n, t, h, L, B))))
    st.caption(T("m_double", n=f"{2 * n:,}",
                 b=D.human_bytes(float(D.attention_matrix_bytes(2 * n, "fp32", h, L, B)))))
    plot.show(plot.cached("memory", (n, h, L, B), lambda: F.memory_plot(
        grid, series, n, title=T("mem_title"), x_title=T("mem_x"), y_title=T("mem_y"),
        current_label=T("current_label", n=f"{n:,}"))), "memory")

demo_footer(DEMO)
