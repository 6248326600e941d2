from ui import shell

shell.page("rope")
import streamlit as st

from demos import llm
from demos import rope as D
from figures import rope as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "rope"
D_HEADS = (8, 16, 32, 64, 128, 256)
DEFAULT_TEXT = "Q: What is RoPE?"


def T(key: str, **fmt) -> str:
    return shell.t(f"rope.{key}", **fmt)


def live(name: str = "lm") -> llm.LiveLM:
    return compute.call(llm.load, name)


def extrapolation(name: str) -> dict:
    return compute.cached("extrapolation", name, lambda: D.extrapolation_of(live(name)))


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))

if section in ("rotation", "distance"):
    c1, c2 = st.columns(2)
    with c1:
        d = state.select("d_head", T("d_head"), D_HEADS, 64, widget="segmented")
    with c2:
        L = state.slider("length", T("length"), 2, 4096 if section == "distance" else 512,
                         2048 if section == "distance" else 64)
    if section == "rotation":
        st.markdown(T("exp_rotation"))
        pairs = D.rotation_pairs(d)
        th = D.thetas(d)
        pts = D.pair_points(d, L, pairs)
        plot.show(plot.call(F.pair_circles, pts, [T("pair_title", i=i, theta=f"{th[i]:.3g}") for i in pairs],
                            title=T("rot_title", L=L - 1, d=d), pos_title=T("pos")), "circles")
        lam = D.wavelengths(d)
        st.table({T("col_pair"): pairs, T("col_theta"): [f"{th[i]:.4g}" for i in pairs],
                      T("col_wavelength"): [f"{lam[i]:,.1f}" for i in pairs]}, hide_index=True)
    else:
        st.markdown(T("exp_distance"))
        delta, ones, bound = D.distance_curves(d, L)
        plot.show(plot.call(F.distance_plot, delta, {T("s_ones"): ones, T("s_bound"): bound},
                            title=T("dist_title", d=d), x_title=T("dist_x"), y_title=T("dist_y")), "distance")

elif section == "shift":
    st.markdown(T("exp_shift"))
    c0, c1, c2, c3 = st.columns(4)
    with c0:
        d = state.select("d_head", T("d_head"), D_HEADS, 64)
    with c1:
        m = state.slider("m", T("m"), 0, 512, 7)
    with c2:
        n = state.slider("n", T("n"), 0, 512, 3)
    with c3:
        s = state.slider("s", T("shift"), 0, 1024, 100)
    r = D.shift_check(d, m, n, s)
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(T("m_score"), f"{r['score']:.6f}")
    k2.metric(T("m_shifted"), f"{r['shifted']:.6f}")
    k3.metric(T("m_diff"), f"{r['diff']:.1e}")
    k4.metric(T("m_unrot"), f"{r['unrotated']:.6f}")
    st.success(T("worst", n=D.SHIFTS_CHECKED, w=r["worst"], r=r["vs_reference"]), icon=":material/check_circle:")
    lm = live()
    text = state.text("prompt", T("prompt"), DEFAULT_TEXT, max_chars=24)
    ids, _ = llm.encode(lm, text, 24)
    if ids and lm.cfg.pos == "rope":
        a, b, diff = D.model_shift_check(lm.net, ids, s)
        st.markdown(T("model_shift", s=s, diff=diff) + ("" if lm.trained else " " + T("model_shift_random")))
        labels = [llm.token_label(lm, i) for i in ids]
        plot.show(plot.call(F.shift_heatmaps, a, b, labels, titles=(T("at_zero"), T("at_shift", s=s)),
                            title=T("shift_title", s=s), value=T("score")), "shift")

elif section == "extrapolation":
    st.markdown(T("exp_extrapolation"))
    trained = [name for name in D.EXTRAP_MODELS if live(name).trained]
    missing = [T(f"scheme_{name}") for name in D.EXTRAP_MODELS if name not in trained]
    if missing:
        st.info(T("no_variants", missing=", ".join(missing)), icon=":material/info:")
    if trained:
        with st.spinner(T("computing")):
            res = {name: extrapolation(name) for name in trained}
        L = D.trained_length(live(trained[0]).info, live(trained[0]).cfg)
        names = [T(f"scheme_{name}") for name in trained]
        values = {T(f"scheme_{name}"): D.ppl_row(res[name]) for name in trained}
        cap = D.bar_cap(values.values())
        plot.show(plot.call(F.extrapolation_bars, names, D.MULTIPLES, values, title=T("ext_title", L=L),
                            x_title=T("ext_x"), y_title=T("ext_y"), na_label=T("na"), cap=cap), "bars")
        rows = {T("col_model"): names}
        for j, mm in enumerate(D.MULTIPLES):
            rows[T("col_ppl", m=mm)] = [f"{values[nm][j]:.2f}" if values[nm][j] is not None else T("na") for nm in names]
        st.table(rows, hide_index=True)
        curves = {T(f"scheme_{name}"): res[name][4]["loss"] for name in trained if res[name][4]["loss"] is not None}
        if curves:
            plot.show(plot.call(F.loss_curves, curves, L, title=T("curve_title"), x_title=T("curve_x"),
                                y_title=T("curve_y"), trained_label=T("trained_at", L=L)), "curves")

else:
    st.markdown(T("exp_interpolation"))
    lm = live(D.PI_MODEL)
    L = D.trained_length(lm.info, lm.cfg)
    d = lm.cfg.d_head
    # pairs whose turn (2π/θ_i) is longer than L but shorter than 4L: plain extrapolation takes them to
    # angles never seen in training, interpolation keeps them inside
    pairs = D.pi_pairs(d, L)
    pts = D.pi_points(d, L, pairs)
    titles = [f"{T('pi_plain')} · i={i}" for i in pairs] + [f"{T('pi_interp')} · i={i}" for i in pairs]
    plot.show(plot.call(F.pair_circles, pts, titles, title=T("pi_angles", i=f"{pairs[0]}, {pairs[1]}", L=L),
                        pos_title=T("pos")), "pi_circles")
    if not lm.trained:
        st.info(T("no_variants", missing=T(f"scheme_{D.PI_MODEL}")), icon=":material/info:")
    else:
        with st.spinner(T("computing")):
            plain = extrapolation(D.PI_MODEL)
            pi = compute.cached("interpolation", D.PI_MODEL, lambda: D.interpolation_of(lm))
        values = {T("pi_plain"): D.ppl_row(plain), T("pi_interp"): D.pi_row(plain, pi)}
        plot.show(plot.call(F.extrapolation_bars, list(values), D.MULTIPLES, values, title=T("pi_title"),
                            x_title="", y_title=T("ext_y"), na_label=T("na"), cap=D.bar_cap(values.values())),
                  "pi_bars")
        for mm in D.MULTIPLES[1:]:
            st.markdown("- " + T("ppl_pi", m=mm, a=plain[mm]["ppl"], b=pi[mm]))

demo_footer(DEMO)
