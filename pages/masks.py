"""Masks demo: padding, causal and combined masks, keys vs queries, the NaN guard, BERT, leak check."""
from ui import shell
from ui.demo_footer import demo_footer

shell.page("masks")
import streamlit as st

from demos import masks as M
from figures import masks as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state

T_ = lambda key, **kw: shell.t(f"masks.{key}", **kw)  # noqa: E731


def _fit(param: str, options: list, default) -> None:
    """Before a bound widget is drawn: drop a remembered value that is no longer valid."""
    key = f"{shell.current_page()}:{param}"
    if key in st.session_state and st.session_state[key] not in options:
        st.session_state[key] = default


def _batch(text: str) -> M.Batch:
    return compute.call(M.parse_batch, text, keep=64)


def _fig(name: str, *args, **kwargs):
    """Figures are cached by their inputs (arrays, translated texts) in the size-bounded figure
    cache: rebuilding a plotly figure costs milliseconds. plot.show only reads the figure."""
    return plot.call(getattr(F, name), *args, **kwargs)


st.markdown(T_("intro"))
sections = list(DEMO_SECTIONS["masks"])
section = state.section(sections, T_("section_label"), lambda s: T_(f"sec_{s}"))

# ---- the batch ------------------------------------------------------------------------------
text_widget = getattr(state, "text_area", None)
if text_widget is not None:
    raw = text_widget("sentences", T_("sentences_label"), M.DEFAULT_SENTENCES, max_chars=M.MAX_CHARS,
                      height=130, help=T_("sentences_help"))
else:  # pragma: no cover - older ui.state without text_area
    raw = state.text("sentences", T_("sentences_label"), M.DEFAULT_SENTENCES, max_chars=M.MAX_CHARS,
                     help=T_("sentences_help"))
try:
    text = raw or ""
    batch = _batch(text)
except M.BatchError:
    st.warning(T_("err_empty"), icon=":material/edit_note:")
    text = M.DEFAULT_SENTENCES
    batch = _batch(text)
notes = list(batch.notes)
if len(text) >= M.MAX_CHARS and "too_long" not in notes:  # the text box cut it at MAX_CHARS already
    notes.insert(0, "too_long")
for code in notes:
    n = {"too_long": M.MAX_CHARS, "too_many_lines": M.MAX_SENTENCES, "too_many_tokens": M.MAX_TOKENS}[code]
    st.info(T_(f"note_{code}", n=n), icon=":material/content_cut:")
B, T = batch.ids.shape
st.caption(T_("batch_caption", B=B, T=T, lengths=", ".join(map(str, batch.lengths))))
padded = batch.padded_tokens()
pad = batch.real()
n_heads = M.config().n_heads


def trace():
    return compute.cached("trace", text, lambda: M.run(batch.ids), keep=64)


def row_picker(key_suffix: str = "row") -> int:
    options = list(range(B))
    _fit("row", options, 0)
    # padding views default to the shortest sentence (most pads), BERT and the leak check to the longest
    default = batch.default_row(longest=section in ("bert", "leak"))
    return state.select("row", T_("row_label"), options, default,
                        format_func=lambda i: f"{i}: {' '.join(batch.tokens[i])[:60]}")


def head_picker() -> int:
    options = list(range(1, n_heads + 1))
    return state.select("head", T_("head_label"), options, 1, widget="segmented") - 1


def shapes_table() -> None:
    st.markdown(f"**{T_('shapes_title')}**")
    rows = [{T_("col_tensor"): T_(f"shape_{name}"), T_("col_symbolic"): "[" + ", ".join(sym) + "]",
             T_("col_actual"): "[" + ", ".join(map(str, shp)) + "]"}
            for name, shp, sym in M.shapes(batch.ids, n_heads)]
    st.dataframe(rows, hide_index=True, width="content")


def score_steps(kind: str, row: int, head: int) -> None:
    view = M.attn_view(trace(), kind, row, head)
    title = T_("fig_steps_enc" if kind == "encoder" else "fig_steps_dec", row=row, head=head + 1)
    fig = _fig("score_steps", view.scaled, view.masked, view.weights, padded[row], title=title,
                        names=[T_("step_scaled"), T_("step_masked"), T_("step_weights")],
                        x_title=T_("key"), y_title=T_("query"), value=T_("value"))
    plot.show(fig, f"steps-{kind}")


grid_kw = dict(x_title=T_("key"), y_title=T_("query"), attend_text=T_("attend"), blocked_text=T_("blocked"))

# ---- sections ---------------------------------------------------------------------------------
if section == "padding":
    st.markdown(T_("padding_md"))
    plot.show(_fig("batch_padding", padded, pad, title=T_("fig_batch"), x_title=T_("position"), y_title="",
                              real_text=T_("real_token"), pad_text=T_("pad_token"), sentence=T_("sentence")),
              "batch")
    st.code(f"pad_mask = (tokens != 0)[:, None, None, :]   # {list(M.masks(batch.ids)['padding'].shape)} = [B, 1, 1, T]",
            language="python")
    c1, c2 = st.columns([2, 1])
    with c1:
        row = row_picker()
    with c2:
        head = head_picker()
    score_steps("encoder", row, head)
    st.caption(T_("padding_rows_note"))

elif section == "causal":
    st.markdown(T_("causal_md"))
    row = row_picker()
    causal = M.mask_grids(batch.ids, row)["causal"]
    plot.show(_fig("mask_grid", causal, padded[row], title=T_("fig_causal", row=row), **grid_kw), "causal")
    st.code(f"causal_mask = torch.ones(T, T, dtype=torch.bool).tril()[None, None]   # {list(M.masks(batch.ids)['causal'].shape)} = [1, 1, T, T]",
            language="python")

elif section == "combined":
    st.markdown(T_("combined_md"))
    c1, c2 = st.columns([2, 1])
    with c1:
        row = row_picker()
    with c2:
        head = head_picker()
    grids = M.mask_grids(batch.ids, row)
    plot.show(_fig("masks_side_by_side",
        [grids["padding"], grids["causal"], grids["combined"]],
        [T_("shape_padding") + " [B,1,1,T]", T_("shape_causal") + " [1,1,T,T]", T_("shape_combined") + " [B,1,T,T]"],
        padded[row], title=T_("fig_combined", row=row), **grid_kw), "combined")
    shapes_table()
    score_steps("decoder", row, head)

elif section == "key_vs_query":
    st.markdown(T_("kq_md"))
    mode = state.select("mask_on", T_("mode_label"), list(M.KEY_MODES), "keys", widget="segmented",
                        format_func=lambda m: T_(f"mode_{m}"))
    row = row_picker()
    res = compute.cached("key_vs_query", (text, mode), lambda: M.key_vs_query(batch.ids, mode), keep=128)
    real = pad[row]
    delta = res.delta_real[row]
    plot.show(_fig("weights_and_delta", res.weights[row, 0], delta, padded[row], ~real,
                                  title=T_("fig_kq", row=row), names=[T_("kq_weights"), T_("kq_delta")],
                                  x_title=T_("key"), y_title=T_("query"), delta_title=T_("kq_delta"),
                                  value=T_("weight")), "key-vs-query")
    d_all, w_all = M.key_query_metrics(res, pad)
    m1, m2, m3 = st.columns(3)
    m1.metric(T_("metric_delta"), f"{d_all:.3g}")
    m2.metric(T_("metric_padw"), f"{w_all:.3g}")
    m3.metric(T_("metric_shape"), "[" + ", ".join(map(str, res.mask_shape)) + "]")
    if mode == "keys":
        st.success(T_("kq_keys_verdict"), icon=":material/check_circle:")
    else:
        st.error(T_("kq_queries_verdict", w=f"{w_all:.0%}", d=f"{d_all:.3g}"), icon=":material/bug_report:")
    if not bool(pad.all()):         # some position is padding: say what happens to its row
        st.caption(T_("padding_rows_note"))
    shapes_table()

elif section == "nan_guard":
    st.markdown(T_("nan_md"))
    view = M.attn_view(trace(), "encoder", 0, 0)
    nr = M.nan_row(view.scaled[0])          # a real row of scores; every key is masked below
    names = [T_("nan_inf"), T_("nan_finite"), T_("nan_guarded")]
    plot.show(_fig("nan_rows", [nr.inf_softmax, nr.finite_softmax, nr.guarded], names, title=T_("fig_nan", T=T),
                         x_title=T_("nan_key"), y_title=T_("weight"), nan_text=T_("nan_text")), "nan-row")
    st.dataframe([{T_("col_treatment"): name, T_("col_weights"): w, T_("col_rowsum"): total}
                  for name, (w, total) in zip(names, M.nan_table(nr), strict=True)], hide_index=True)
    st.markdown(T_("nan_guard_md"))
    st.code("weights = torch.softmax(scores.masked_fill(~mask, float('-inf')), dim=-1)\n"
            "weights = torch.where(mask, weights, 0.0)   # NaN guard: fully masked rows -> 0", language="python")
    st.warning(T_("fp16_note", v=f"{nr.fp16_large_negative}"), icon=":material/warning:")
    n_real, total, lm, empty, labels = M.left_pad_example(T)
    st.markdown(T_("leftpad_md", n=n_real, T=total, rows=", ".join(map(str, empty))))
    plot.show(_fig("mask_grid", lm, labels,
                          title=T_("fig_leftpad"), height=380, **grid_kw), "left-pad")

elif section == "bert":
    st.markdown(T_("bert_md"))
    c1, c2 = st.columns([2, 1])
    with c1:
        row = row_picker()
    with c2:
        seed = state.slider("seed", T_("seed_label"), 0, 99, 0)
    toks = batch.tokens[row]
    mlm = M.mlm_mask(toks, seed)
    acts = {a: T_(f"act_{a}") for a in ("mask", "random", "keep", "none")}
    plot.show(_fig("mlm_strip", [m.original for m in mlm], [m.input for m in mlm], [m.action for m in mlm], acts,
                          title=T_("fig_mlm", seed=seed, row=row), x_title=T_("position"),
                          rows=[T_("bert_row_original"), T_("bert_row_input")]), "mlm")
    st.dataframe([{T_("col_position"): m.position, T_("col_original"): m.original, T_("col_input"): m.input,
                   T_("col_action"): acts[m.action], T_("col_label"): m.label if m.label is not None else T_("label_ignored")}
                  for m in mlm], hide_index=True)
    r = M.mlm_rates()
    st.caption(T_("bert_rates", sel=r["selected"], m=r["mask"], r=r["random"], k=r["keep"]))
    a1, a2 = st.columns(2)
    bidirectional, causal = M.attention_grids(len(toks))
    with a1:
        plot.show(_fig("mask_grid", bidirectional, [m.input for m in mlm], title=T_("fig_bert_attn"),
                              height=380, **grid_kw), "bert-attn")
    with a2:
        plot.show(_fig("mask_grid", causal, toks, title=T_("fig_dec_attn"), height=380,
                              **grid_kw), "decoder-attn")
    st.markdown(T_("bert_why_md"))

elif section == "leak":
    st.markdown(T_("leak_md"))
    c1, c2 = st.columns([2, 1])
    with c1:
        row = row_picker()
    toks = batch.tokens[row]
    L = len(toks)
    if L < 2:
        st.info(T_("leak_one"), icon=":material/info:")
    else:
        with c2:
            causal = state.toggle("causal", T_("leak_causal"), True)
        c3, c4 = st.columns([2, 1])
        with c3:
            _fit("pos", list(range(L)), L // 2)
            pos = state.slider("pos", T_("leak_pos"), 0, L - 1, min(L // 2, L - 1))
        with c4:
            rep_raw = state.text("token", T_("leak_token"), M.default_replacement(toks[pos]), max_chars=20)
        rep_toks = rep_raw.split()
        rep = rep_toks[0] if rep_toks else ""
        if not rep or rep == toks[pos]:
            st.info(T_("leak_same"), icon=":material/info:")
        else:
            res = compute.call(M.leak, tuple(toks), pos, rep, causal, keep=256)
            plot.show(_fig("leak_bars", res.delta, toks, pos, title=T_("fig_leak", p=pos, a=F.label(toks[pos]), b=F.label(rep)),
                                  x_title=T_("position"), y_title=T_("leak_y"), changed_text=T_("leak_changed")),
                      "leak")
            before, after = res.before, res.after
            m1, m2 = st.columns(2)
            m1.metric(T_("metric_before"), f"{before:.3g}")
            m2.metric(T_("metric_after"), f"{after:.3g}")
            if pos == 0:
                st.caption(T_("leak_first"))
            elif before == 0.0:
                st.success(T_("leak_ok"), icon=":material/check_circle:")
            else:
                st.error(T_("leak_bad"), icon=":material/warning:")

demo_footer("masks")
