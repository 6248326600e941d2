from ui import shell

shell.page("norms")
import streamlit as st

from demos import norms as D
from figures import norms as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "norms"
SHAPE = (4, 6, 8)                      # (batch, position, feature) of the cube
BATCH_SIZES = [2, 4, 8, 16, 32, 64, 128, 256]


def T(key: str, **fmt) -> str:
    return shell.t(f"demo_norms.{key}", **fmt)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
feat_t, pos_t, batch_t, tok_t = T("feature"), T("position"), T("batch"), T("token")

if section in ("axes", "stats"):
    c1, c2 = st.columns([3, 1])
    with c1:
        kind = state.select("norm", T("norm"), list(D.NORMS), "batch", widget="segmented",
                            format_func=lambda k: T(f"n_{k}"))
    groups = 2
    if kind == "group":
        with c2:
            groups = state.select("groups", T("groups"), [1, 2, 4, 8], 2, widget="segmented")
    x = compute.call(D.sample, *SHAPE, seed=0)

    if section == "axes":
        ids = D.group_ids(kind, x.shape, groups)
        n_groups = int(ids.max()) + 1
        g = state.slider("group", T("highlight"), 0, n_groups - 1, 0) if n_groups > 1 else 0
        g = min(g, n_groups - 1)
        st.markdown(T("axes_batch", g=g) if kind == "batch" else T(f"axes_{kind}"))   # others hold LaTeX braces
        title = T("cube_title", norm=T(f"n_{kind}"), B=SHAPE[0], T=SHAPE[1], F=SHAPE[2], n=n_groups)
        plot.show(plot.call(F.norm_cube, x, ids, g, title=title, batch_label=batch_t, position_label=pos_t,
                            feature_label=feat_t, value_label=T("value"), group_label=T("group"),
                            highlight_label=T("hl_rms" if kind == "rms" else "hl_label"),
                            other_label=T("other_label")), "cube")
        st.caption(T("cube_hint"))
    else:
        st.markdown(T("exp_stats"))
        y = compute.cached("normed", (kind, groups), lambda: D.apply(kind, x, groups), keep=32)
        kw = {"mean_title": T("mean"), "var_title": T("var"), "before_label": T("before"), "after_label": T("after")}
        plot.show(plot.call(F.stats_bars, [str(i) for i in range(SHAPE[2])], D.per_feature_stats(x),
                            D.per_feature_stats(y), title=f"{T(f'n_{kind}')} · {T('per_feature_title')}",
                            x_title=feat_t, **kw), "per_feature")
        plot.show(plot.call(F.stats_bars, [str(i) for i in range(SHAPE[0] * SHAPE[1])], D.per_token_stats(x),
                            D.per_token_stats(y), title=f"{T(f'n_{kind}')} · {T('per_token_title')}",
                            x_title=tok_t, **kw), "per_token")

elif section == "padding":
    st.markdown(T("exp_padding"))
    share = state.slider("pad", T("pad_share"), 0.0, 0.9, 0.3, step=0.05)
    r = compute.call(D.padding_shift, round(float(share), 2), keep=64)
    m1, m2 = st.columns(2)
    m1.metric(T("pad_metric_bn"), f"{r['bn_out_shift']:.3f}")
    m2.metric(T("pad_metric_ln"), f"{r['ln_out_shift']:.1e}" if r["ln_out_shift"] else "0")
    names = {"bn_mean_shift": T("pad_bn_mean"), "bn_out_shift": T("pad_bn_out"), "ln_out_shift": T("pad_ln_out")}
    plot.show(plot.call(F.padding_plot, compute.call(D.padding_curve), r["pad_share"], title=T("pad_curve_title"), x_title=T("pad_share"),
                        y_title=T("pad_y"), names=names), "padding_curve")
    plot.show(plot.call(F.mean_compare, [f"{feat_t} {i}" for i in range(len(r["bn_mean_real"]))], r["bn_mean_real"],
                        r["bn_mean_all"], title=T("pad_means_title", share=r["pad_share"]), x_title=feat_t,
                        y_title=T("mean"), real_label=T("pad_real"), pad_label=T("pad_all")), "padding_means")
    st.info(T("pad_fix"))

elif section == "batch_noise":
    st.markdown(T("exp_batch_noise"))
    B = state.select("batch", T("batch_size"), BATCH_SIZES, 8, widget="segmented")
    r = compute.call(D.batch_noise, tuple(BATCH_SIZES))
    plot.show(plot.call(F.noise_plot, r, B, title=T("noise_title"), x_title=T("noise_x"), y_title=T("noise_y"),
                        mean_label=T("noise_mean"), theory_label=T("noise_theory"), out_label=T("noise_out")),
           "noise")
    vals = r["out_vals"][BATCH_SIZES.index(B)]
    plot.show(plot.call(F.token_spread, vals, r["true_out"], title=T("spread_title", B=B), x_title=T("spread_x"),
                        true_label=T("spread_true"), count_label=T("count")), "spread")

elif section == "train_eval":
    st.markdown(T("exp_train_eval"))
    steps = state.slider("steps", T("steps"), 0, 300, 20)
    r = compute.call(D.train_eval, steps, keep=128)
    m1, m2 = st.columns(2)
    m1.metric(T("te_bn_diff"), f"{r['bn_diff']:.3f}")
    m2.metric(T("te_ln_diff"), f"{r['ln_diff']:.1e}" if r["ln_diff"] else "0")
    plot.show(plot.call(F.running_mean_plot, r["running_mean_hist"], r["true_mean"], title=T("running_title"),
                        x_title=T("step"), y_title=T("running_y"), feature_label=feat_t,
                        true_label=T("true_mean")), "running")
    plot.show(plot.call(F.train_eval_bars, r["out_train"], r["out_eval"], title=T("te_title"), x_title=T("te_x"),
                        y_title=T("te_y"), train_label=T("te_train"), eval_label=T("te_eval"),
                        token_label=tok_t, feature_label=feat_t), "train_eval")

demo_footer(DEMO)
