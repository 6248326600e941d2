from ui import shell

shell.page("positional_encoding")
import streamlit as st

from demos import positional_encoding as D
from figures import positional_encoding as F
from figures.style import PALETTE
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "positional_encoding"


def T(key: str, **fmt) -> str:
    return shell.t(f"demo_pe.{key}", **fmt)


def pe_table(length: int, d: int):
    return compute.call(D.pe_table, length, d, keep=16)


def learned():
    """The first checkpoint's learned PE table, read again when the checkpoint files change."""
    return compute.cached("learned", D.checkpoint_files(), D.learned_pe_from_checkpoints, keep=4)


st.markdown(T("intro"))
sections = DEMO_SECTIONS[DEMO]
section = state.section(sections, T("sections"), format_func=lambda s: T(f"sec_{s}"))

c1, c2 = st.columns(2)
with c1:
    d = state.slider("d_model", T("d_model"), 8, 512, 64, step=8)
with c2:
    length = state.slider("length", T("length"), 8, 200, 100) if section != "scale" else 100

pos_t, dim_t = T("position"), T("dimension")

if section == "heatmap":
    st.markdown(T("exp_heatmap"))
    found = learned()
    sin_fig = plot.call(F.pe_heatmap, pe_table(length, d), title=T("heatmap_title", length=length, d=d),
                        x_title=dim_t, y_title=pos_t, value=T("value"))
    if found is None:
        plot.show(sin_fig, "heatmap")
        st.info(T("no_trained"), icon=":material/info:")
    else:
        name, table = found
        left, right = st.columns(2)
        with left:
            plot.show(sin_fig, "heatmap")
        with right:
            plot.show(plot.call(F.pe_heatmap, table[:length], title=T("learned_title", n=min(length, len(table))),
                                x_title=dim_t, y_title=pos_t, value=T("value")), "learned")
        st.caption(T("learned_caption"))
        if length > len(table):
            st.caption(T("learned_rows", name=shell.md_plain(name), n=len(table), length=length))

elif section == "curves":
    st.markdown(T("exp_curves"))
    defaults = sorted({2 * (d // 16), 2 * (d // 16) + 1, 2 * (d // 8), 2 * (d // 4)})
    dims = state.multiselect("dims", T("dims_pick"), list(range(d)), defaults, max_selections=8)
    if not dims:
        dims = defaults
    plot.show(plot.call(F.curves, pe_table(length, d), dims, D.wavelengths(d), title=T("curves_title"), x_title=pos_t,
                        y_title=T("value"), dim_label=dim_t, wavelength_label=T("wavelength")), "curves")

elif section == "wavelengths":
    st.markdown(T("exp_wavelengths"))
    lam = D.wavelengths(d)
    m1, m2, m3 = st.columns(3)
    m1.metric(T("wl_metric_min"), f"{lam.min():.3f}")
    m2.metric(T("wl_metric_max"), f"{lam.max():,.0f}")
    m3.metric(T("wl_metric_long"), f"{int((lam > length).sum())} / {d}")
    plot.show(plot.call(F.wavelength_plot, lam, length, title=T("wavelengths_title"), x_title=dim_t,
                        y_title=T("wavelength"), length_label=T("wl_len", length=length),
                        lo_label=T("wl_lo"), hi_label=T("wl_hi")), "wavelengths")

elif section == "similarity":
    st.markdown(T("exp_similarity"))
    mat = compute.cached("dots", (length, d), lambda: D.dot_matrix(D.pe_table(length, d)), keep=16)
    spread = D.diagonal_spread(mat)
    st.metric(T("diag_spread"), f"{spread:.1e}")
    left, right = st.columns(2)
    with left:
        plot.show(plot.call(F.similarity_heatmap, mat, title=T("sim_title"), x_title=pos_t, y_title=pos_t,
                            value=T("sim_value")), "similarity")
    with right:
        anchors = [0, length // 4, length // 2]
        closed = compute.call(D.closed_form_by_distance, length, d, keep=16)
        plot.show(plot.call(F.dot_vs_distance, mat, anchors, closed,
                            title=T("dist_title"), x_title=T("distance"), y_title=T("sim_value"),
                            anchor_label=T("anchor"), formula_label=T("closed_form")), "distance")
        st.caption(T("dist_caption"))
    found = learned()
    if found is not None:            # the trained model's learned table: cosine similarity of positions
        name, table = found
        left, right = st.columns(2)
        with left:
            plot.show(plot.call(F.similarity_heatmap, D.cosine_matrix(table), title=T("learned_sim_title"), x_title=pos_t, y_title=pos_t,
                                value=T("cosine")), "learned_similarity")
        with right:
            st.caption(T("learned_sim_caption", name=name, n=len(table)))

elif section == "rotation":
    st.markdown(T("exp_rotation"))
    if d % 2:
        st.warning(T("rot_odd"))
    else:
        c1, c2, c3 = st.columns(3)
        with c1:
            k = state.slider("k", T("offset_k"), 1, length - 1, min(5, length - 1))
        with c2:
            pair = state.slider("pair", T("pair_i"), 0, d // 2 - 1, 0)
        with c3:
            pos = state.slider("pos", T("from_pos"), 0, length - 1 - k, 0) if length - 1 - k > 0 else 0
        m, err, wrong = compute.call(D.rotation_check, length, d, k, keep=16)
        e1, e2 = st.columns(2)
        e1.metric(T("rot_err"), f"{err:.2e}", help=T("rot_err_help"))
        e2.metric(T("rot_err_wrong"), f"{wrong:.2e}")
        if err < 1e-6:
            st.success(T("rot_ok"), icon=":material/check_circle:")
        left, right = st.columns(2)
        with left:
            n = min(d, 32)
            title = T("rot_title", k=k) if n == d else T("rot_title_part", k=k, n=n)
            plot.show(plot.call(F.rotation_heatmap, m[:n, :n], title=title, x_title=T("col"), y_title=T("row"),
                                value=T("entry")), "rotation")
        with right:
            plot.show(plot.call(F.pair_circle, pe_table(length, d), pair, pos, k, title=T("circle_title", i=pair),
                                x_title=f"sin ({dim_t} {2 * pair})", y_title=f"cos ({dim_t} {2 * pair + 1})",
                                from_label=T("circle_from"), to_label=T("circle_to"),
                                path_label=T("circle_path")), "circle")
            st.caption(T("circle_caption"))

elif section == "scale":
    st.markdown(T("exp_scale"))
    s = compute.call(D.scale_stats, d, keep=32)
    st.metric(T("scale_metric"), f"{s['scale']:.2f}")
    keys = ["raw", "scaled", "pos", "sum_scaled", "sum_unscaled"]
    names = [T(f"n_{k}") for k in keys]
    plot.show(plot.call(F.norm_bars, names, [float(s[k].mean()) for k in keys], [float(s[k].std()) for k in keys],
                        title=T("norms_title", d=d), y_title=T("norm_axis"),
                        colors=[PALETTE[6], PALETTE[0], PALETTE[3], PALETTE[2], PALETTE[1]]), "norms")
    cats = [T("share_pe"), T("share_cos_pos"), T("share_cos_tok")]
    with_s = [s["pe_share_scaled"].mean(), s["cos_pos_scaled"].mean(), s["cos_tok_scaled"].mean()]
    without = [s["pe_share_unscaled"].mean(), s["cos_pos_unscaled"].mean(), s["cos_tok_unscaled"].mean()]
    plot.show(plot.call(F.share_bars, cats, with_s, without, title=T("share_title"), x_title=T("share_axis"),
                        with_label=T("with_scale"), without_label=T("without_scale")), "share")
    st.info(T("scale_takeaway", cos_un=without[1], share_un=without[0], cos_s=with_s[1], share_s=with_s[0]))
    st.markdown(T("tie_note"))

demo_footer(DEMO)
