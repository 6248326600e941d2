"""Residuals & gradients demo: depth with/without residuals, RNN vs attention, Post-LN vs Pre-LN."""
from ui import shell
from ui.demo_footer import demo_footer

shell.page("residuals")
import streamlit as st

from demos import residuals as R
from figures import residuals as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state

T_ = lambda key, **kw: shell.t(f"residuals.{key}", **kw)  # noqa: E731


def _fig(name: str, *args, **kwargs):
    """Figures are cached by their inputs (arrays, translated texts) in the size-bounded figure
    cache: rebuilding a plotly figure costs milliseconds. plot.show only reads the figure."""
    return plot.call(getattr(F, name), *args, **kwargs)


st.markdown(T_("intro"))
section = state.section(list(DEMO_SECTIONS["residuals"]), T_("section_label"), lambda s: T_(f"sec_{s}"))
R.warm_up()   # measure in the background so the other sections are ready when opened

if section == "depth":
    st.markdown(T_("depth_md"))
    depth = state.slider("depth", T_("depth_label"), 2, R.MAX_DEPTH, R.DEPTH_DEFAULT)
    curves = R.first_layer_vs_depth(R.MAX_DEPTH)
    plain, res = R.block_profiles(R.MAX_DEPTH)[depth]
    c1, c2, c3 = st.columns(3)
    c1.metric(T_("metric_plain"), f"{plain[0]:.2e}")
    c2.metric(T_("metric_residual"), f"{res[0]:.2e}")
    c3.metric(T_("metric_ratio"), f"{res[0] / plain[0]:.1e}×")
    left, right = st.columns(2)
    with left:
        plot.show(_fig("first_layer_vs_depth", curves["depth"], curves["plain"], curves["residual"], depth,
                       title=T_("fig_first"), x_title=T_("x_depth"), y_title=T_("y_grad"),
                       plain_name=T_("plain"), residual_name=T_("residual")), "first-layer")
    with right:
        plot.show(_fig("per_layer", [res, plain], [T_("residual"), T_("plain")], title=T_("fig_layers", n=depth),
                       x_title=T_("x_layer"), y_title=T_("y_grad")), "per-layer")
    st.caption(T_("depth_note"))

elif section == "rnn_vs_attention":
    st.markdown(T_("rnn_md"))
    gain = state.select("gain", T_("gain_label"), list(R.RNN_GAINS), 0.9, widget="segmented")
    k, rnn, attn = compute.call(R.dependence, gain)
    c1, c2 = st.columns(2)
    c1.metric(T_("metric_rnn_ratio"), f"{rnn[1] / rnn[20]:.1e}×")
    c2.metric(T_("metric_attn_ratio"), f"{attn[1] / attn[20]:.2f}×")
    plot.show(_fig("dependence", k, rnn, attn, title=T_("fig_dep"), x_title=T_("x_k"), y_title=T_("y_dep"),
                   rnn_name=T_("rnn"), attention_name=T_("attention")), "dependence")
    st.markdown(T_("path_md"))
    plot.show(_fig("path_diagram", 6, title=T_("fig_path"), rnn_name=T_("rnn"), attention_name=T_("attention"),
                   token="x", steps_text=T_("path_steps")), "path-length")

elif section == "pre_post_ln":
    st.markdown(T_("lnmd"))
    depth = state.slider("depth", T_("depth_label"), 2, R.MAX_DEPTH, R.DEPTH_DEFAULT)
    shown = R.nearest_ln_depth(depth)
    if R.ln_ready():
        data = R.ln_all()
    else:
        with st.spinner(T_("ln_computing")):
            data = R.ln_all()
    curve = data["curve"]
    post, pre = data["profiles"][shown]
    if shown != depth:
        st.caption(T_("ln_even", depth=depth, shown=shown))
    depth = shown
    c1, c2, c3 = st.columns(3)
    c1.metric(T_("metric_post_last"), f"{post[-1]:.3f}")
    c2.metric(T_("metric_pre_last"), f"{pre[-1]:.3f}")
    c3.metric(T_("metric_last_ratio"), f"{post[-1] / pre[-1]:.2f}×")
    plot.show(_fig("ln_panels", post, pre, curve["depth"], curve["post"], curve["pre"], depth, title=T_("fig_ln"),
                   names=[T_("ln_left", n=depth), T_("ln_right")], layer_title=T_("x_layer"),
                   depth_title=T_("x_depth"), y_title=T_("y_grad"), post_name=T_("post"), pre_name=T_("pre")),
              "pre-post-ln")
    st.markdown(T_("ln_read_md"))
    st.caption(T_("ln_measured_md", n=depth, r=post[-1] / pre[-1]))

demo_footer("residuals")
