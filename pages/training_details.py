from ui import shell

shell.page("training_details")
import streamlit as st

from demos import training_details as D
from figures import training_details as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "training_details"
P_CHOICES = [0.0, 0.1, 0.3, 0.5]


def T(key: str, **fmt) -> str:
    return shell.t(f"demo_training.{key}", **fmt)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))

if section == "warmup":
    st.markdown(T("exp_warmup"))
    c1, c2 = st.columns(2)
    with c1:
        w = state.slider("warmup", T("warmup"), 100, 10000, 4000, step=100)
    with c2:
        d = state.slider("d_model", T("d_model"), 64, 1024, 512, step=64)
    steps, lr, warm, decay = compute.call(D.schedule_curves, d, w, keep=64)
    peak = D.noam_peak(d, w)
    m1, m2, m3 = st.columns(3)
    m1.metric(T("m_peak_step"), f"{int(steps[lr.argmax()]):,}")
    m2.metric(T("m_peak_lr"), f"{peak[1]:.3e}")
    m3.metric(T("m_final"), f"{float(D.noam_lr(10 * w, d, w)):.3e}")
    plot.show(plot.call(F.lr_plot, steps, lr, warm, decay, peak, title=T("lr_title", d=d, w=w), x_title=T("step"),
                        y_title=T("lr"), lr_label=T("lr_curve"), warm_label=T("warm_branch"),
                        decay_label=T("decay_branch"), peak_label=T("peak")), "lr")

elif section == "dropout":
    st.markdown(T("exp_dropout"))
    labels = {k: T(f"g_{k}") for k in ("tokens", "embed", "pe", "drop_paper", "drop_extra", "attn", "softmax",
                                        "add_norm", "ffn", "out")}
    st.graphviz_chart(F.dropout_dot(labels), width="content")
    st.caption(T("g_caption"))
    st.divider()
    st.markdown(T("exp_eval"))
    p = state.select("p", T("p"), P_CHOICES, 0.1, widget="segmented")
    r = compute.call(D.train_vs_eval, dropout=float(p), keep=8)
    m1, m2 = st.columns(2)
    m1.metric(T("m_train_diff"), f"{r['train_diff']:.4f}")
    m2.metric(T("m_eval_diff"), f"{r['eval_diff']:.4f}")
    st.caption(T("logits_caption"))
    rows = {T("mode"): [T("train_mode"), T("train_mode"), T("eval_mode"), T("eval_mode")],
            "": [T("call1"), T("call2"), T("call1"), T("call2")]}
    table = D.logits_table(r)
    for j in range(table.shape[1]):
        rows[f"logit {j}"] = [f"{v:+.4f}" for v in table[:, j]]
    st.dataframe(rows, hide_index=True)
    names = [n for n, _ in r["train_zeros"]]
    plot.show(plot.call(F.zeros_bars, names, [z for _, z in r["train_zeros"]], [z for _, z in r["eval_zeros"]], float(p),
                        title=T("zeros_title"), y_title=T("zeros_y"), train_label=T("train_mode"),
                        eval_label=T("eval_mode"), p_label=T("p_line", p=p)), "zeros")

elif section == "label_smoothing":
    st.markdown(T("exp_ls"))
    c1, c2 = st.columns(2)
    with c1:
        eps = state.slider("eps", T("eps"), 0.0, 0.5, 0.1, step=0.01)
    with c2:
        K = state.slider("K", T("K"), 2, 50, 10)
    eps = round(float(eps), 2)
    q = D.smoothed_target(K, eps, 0)
    best, _ = D.best_achievable(K, eps)
    m1, m2, m3 = st.columns(3)
    m1.metric(T("m_true"), f"{q[0]:.4f}")
    m2.metric(T("m_other"), f"{q[1]:.4f}")
    m3.metric(T("m_min_loss"), f"{best:.4f}")
    plot.show(plot.call(F.target_bars, q, 0, title=T("ls_title", K=K, eps=eps), x_title=T("cls"), y_title=T("prob"),
                        smooth_label=T("smooth"), hard_label=T("hard")), "target")
    ours, theirs = compute.call(D.torch_check, K, eps, keep=256)
    st.success(T("torch_check", ours=ours, theirs=theirs, eps=eps), icon=":material/check_circle:")

demo_footer(DEMO)
