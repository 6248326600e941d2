from ui import shell

shell.page("attention")
import math

import pandas as pd
import streamlit as st

from demos import attention as A
from figures import attention as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

PAGE = "attention"
DEFAULT_SENTENCE = "我 现在 爱 你"
N_SAMPLES, SOFTMAX_TRIALS, SOFTMAX_KEYS = 10000, 400, 16
FLOP_T = 16          # sequence length of the parameter / FLOP table (counted once per d_model)


def T(key: str, **fmt: object) -> str:
    return shell.t(f"attention.{key}", **fmt)


# ----------------------------------------------------------------------------------------------
# Models and runs, kept per process (ui.compute)

def trained() -> A.LiveModel | None:
    return compute.call(A.trained_model)


def random_model(d_k: int) -> A.LiveModel:
    return compute.call(A.random_model, d_k)


def live(name: str, d_k: int) -> A.LiveModel:
    return trained() if name == "translate" else random_model(d_k)


def forward(name: str, d_k: int, src: tuple[str, ...], tgt: tuple[str, ...] | None, scaled: bool = True) -> A.Run:
    """The traced run; scaled=False runs the twin with ÷√d_k switched off (same weights, same tokens).
    A Run holds every traced tensor: up to ~5 MB for d_k = 128 and 24 tokens, so 24 are kept."""
    def build() -> A.Run:
        twin = None if scaled else compute.cached("unscaled", (name, d_k), lambda: A.unscaled_twin(live(name, d_k)))
        return A.run(live(name, d_k), list(src), None if tgt is None else list(tgt), decoder_net=twin)
    return compute.cached("forward", (name, d_k, src, tgt, scaled), build, keep=24)


def head_stats(name: str, d_k: int, src: tuple[str, ...], tgt: tuple[str, ...] | None, kind: str,
               scaled: bool = True) -> dict:
    return compute.cached("head_stats", (name, d_k, src, tgt, kind, scaled),
                          lambda: A.head_stats(forward(name, d_k, src, tgt, scaled), kind), keep=64)


def start_tables():
    """The ÷√d_k and multi-head tables are computed once per process in a background thread,
    started at the page's first visit; returns that thread while it runs."""
    return A.warm_up(A.table_d_models(trained()), FLOP_T, N_SAMPLES)


def tables() -> None:
    """A section that needs the tables before they are ready waits here, with a spinner."""
    job = start_tables()
    if job is not None:
        with st.spinner(T("computing")):
            job.join()


def scaling_table() -> list[dict]:
    tables()
    return A.scaling_table(A.D_K_OPTIONS, N_SAMPLES)


def multihead_table(d_model: int, T_: int) -> list[dict]:
    tables()
    return A.multihead_table(d_model, T_)


def memo(name: str, key: tuple, build):
    """A built figure, cached by a name and a hashable key of everything it shows (the language
    is added by ui.plot.cached): reruns that do not change a figure skip building it."""
    return plot.cached(name, key, build)


# ----------------------------------------------------------------------------------------------
# Small helpers

def fix_choice(param: str, options: list, default) -> None:
    """Keep a URL-bound choice valid when its options change (another sentence, model or section)."""
    key = f"{PAGE}:{param}"
    if key in st.session_state and st.session_state[key] not in options:
        value = st.session_state[key]
        if isinstance(value, int | float) and options and all(isinstance(o, int | float) for o in options):
            st.session_state[key] = min(options, key=lambda o: (abs(math.log2(max(o, 1e-9)) - math.log2(max(value, 1e-9)))))
        else:
            st.session_state[key] = default if default in options else options[0]


def choice(param: str, label: str, options: list, default, **kw):
    fix_choice(param, options, default)
    return state.select(param, label, options, default if default in options else options[0], **kw)


def fmt_err(x: float) -> str:
    return f"{x:.1e}"


def kind_label(kind: str) -> str:
    return T(f"kind_{kind}")


def pick_kind(default: str = "enc_self", kinds: tuple[str, ...] = A.KINDS) -> str:
    return choice("attn", T("kind"), list(kinds), default, widget="segmented", format_func=kind_label)


def pick_layer_head(lm: A.LiveModel, *, layer_default: int = 0) -> tuple[int, int]:
    c1, c2 = st.columns(2)
    with c1:
        layer = choice("layer", T("layer"), list(range(lm.cfg.n_layers)), layer_default, widget="segmented",
                       format_func=lambda i: str(i + 1))
    with c2:
        head = choice("head", T("head"), list(range(lm.cfg.n_heads)), 0, widget="segmented",
                      format_func=lambda i: str(i + 1))
    return layer, head


def query_labels(run: A.Run, kind: str) -> tuple[list[str], list[str]]:
    """Decoder rows read “input→predicted next word”."""
    q, k = run.labels(kind)
    if kind != "enc_self":
        q = [f"{a}→{b}" for a, b in zip(run.tgt_tokens, run.predicted, strict=True)]
    return q, k


def show_tokens(label: str, tokens: list[str]) -> None:
    st.caption(label)
    st.code("  ".join(f"{i}:{t}" for i, t in enumerate(tokens)), language=None, wrap_lines=True)


# ----------------------------------------------------------------------------------------------
# Page

st.markdown(T("intro"))
start_tables()   # computed in the background, ready before a learner opens those sections
sections = list(DEMO_SECTIONS[PAGE])
section = state.section(sections, T("sections"), lambda s: T(f"sec_{s}"))


def model_controls() -> tuple[A.LiveModel, str, int, str]:
    """Sentence, model and d_k widgets; returns (model, name, d_k, typed sentence)."""
    tr_model = trained()
    options = ["trained", "random"] if tr_model is not None else ["random"]
    c1, c2 = st.columns([3, 2])
    with c1:
        sentence = state.text("sentence", T("sentence"), DEFAULT_SENTENCE, max_chars=A.MAX_CHARS,
                              help=T("sentence_help"))
    default = options[0]
    if tr_model is not None and "model" not in st.query_params:
        # a link that asks for a head size the trained model does not have (e.g. a card's d_k=64,
        # the paper's ÷8) opens the random model built with that d_k
        raw = st.query_params.get("d_k")
        # compared as text: int() of a 5,000-digit link value raises (tests/security/test_url_fuzz.py)
        if raw in {str(k) for k in A.MODEL_D_K_OPTIONS} and int(raw) != tr_model.cfg.d_k:
            default = "random"
    with c2:
        which = choice("model", T("model"), options, default, widget="segmented",
                       format_func=lambda m: T(f"model_{m}"))
    if which == "trained":
        lm, name, d_k = tr_model, "translate", tr_model.cfg.d_k
    else:
        d_k = choice("d_k", T("model_d_k"), list(A.MODEL_D_K_OPTIONS), A.DEFAULT_D_K, widget="segmented")
        lm, name = random_model(d_k), "random"
    cfg = lm.cfg
    if which == "trained":
        acc = lm.info.get("heldout_exact_match", lm.info.get("val_exact_match"))
        st.success(T("using_trained", layers=cfg.n_layers, heads=cfg.n_heads, d_model=cfg.d_model, d_k=cfg.d_k,
                     acc="—" if acc is None else f"{100 * float(acc):.1f}%"), icon=":material/translate:")
    else:
        st.info(T("using_random", layers=cfg.n_layers, heads=cfg.n_heads, d_model=cfg.d_model, d_k=cfg.d_k,
                  vocab=A.HASH_VOCAB_SIZE), icon=":material/casino:")
        if tr_model is None:
            st.caption(T("no_trained"))
    return lm, name, d_k, sentence


def prepare() -> tuple[A.LiveModel, str, int, A.Run, tuple] | None:
    lm, name, d_k, sentence = model_controls()
    try:
        src = A.split_text(sentence, lm)
    except A.InputError as e:
        st.warning(T(f"err_{e.code}"), icon=":material/edit_note:")
        return None
    target = state.text("target", T("target"), "", max_chars=A.MAX_CHARS, help=T("target_help"))
    tgt = None
    if target.strip():
        try:
            tgt = A.split_text(target, lm, side="tgt")
        except A.InputError:
            st.info(T("err_target_empty"))
    for toks in (src, tgt):
        if toks is None:
            continue
        for note in toks.notes:
            if note == "cut_chars":
                st.info(T("note_cut_chars", n=A.MAX_CHARS), icon=":material/content_cut:")
            elif note == "cut_tokens":
                st.info(T("note_cut_tokens", n=A.max_tokens(lm)), icon=":material/content_cut:")
            elif note == "unknown":
                st.warning(T("note_unknown"), icon=":material/help:")
                st.code("  ".join(toks.unknown), language=None, wrap_lines=True)
    rkey = (name, d_k, tuple(src.tokens), None if tgt is None else tuple(tgt.tokens))
    run = forward(*rkey)
    c1, c2 = st.columns(2)
    with c1:
        show_tokens(T("tokens_src"), run.src_tokens)
    with c2:
        show_tokens(T("tokens_tgt"), run.tgt_tokens)
    if run.typed_target:
        st.caption(T("output_typed"))
    elif lm.trained:
        st.caption(T("output_greedy"))
        st.code(" ".join(run.output) or "∅", language=None)
    else:
        st.caption(T("output_copy"))
    return lm, name, d_k, run, (*rkey, shell.lang())


def section_heatmaps(lm: A.LiveModel, name: str, d_k: int, run: A.Run, key: tuple) -> None:
    st.markdown(T("exp_heatmaps"))
    kind = pick_kind()
    layer, head = pick_layer_head(lm)
    q, k = query_labels(run, kind)
    if kind != "enc_self":
        st.caption(T("dec_rows_note"))
    fig = memo("heat", (key, kind, layer, head), lambda: F.attention_heatmap(
        A.head_weights(run, kind, layer, head), q, k,
        title=T("heat_title", kind=kind_label(kind), layer=T("layer_n", n=layer + 1), head=T("head_n", n=head + 1)),
        x_title=T("key"), y_title=T("query"), value=T("weight")))
    plot.show(fig, f"heat-{kind}")
    if state.toggle("grid", T("grid_toggle"), True):
        plot.show(memo("grid", (key, kind), lambda: grid_figure(lm, run, kind, T("grid_title", kind=kind_label(kind)))),
                  f"grid-{kind}")


def grid_figure(lm: A.LiveModel, run: A.Run, kind: str, title: str):
    q, k = query_labels(run, kind)
    return F.heads_grid(A.all_weights(run, kind), q, k, title=title,
                        row_titles=[T("layer_n", n=i + 1) for i in range(lm.cfg.n_layers)],
                        col_titles=[T("head_n", n=j + 1) for j in range(lm.cfg.n_heads)],
                        x_title=T("key"), y_title=T("query"), value=T("weight"))


def section_six_steps(lm: A.LiveModel, name: str, d_k: int, run: A.Run, key: tuple) -> None:
    st.markdown(T("exp_six_steps"))
    kind = pick_kind()
    layer, head = pick_layer_head(lm)
    q_labels, k_labels = run.labels(kind)
    tok = choice("token", T("token_pick"), list(range(len(q_labels))), 0, widget="segmented",
                 format_func=lambda i: f"{i}:{shell.md_plain(q_labels[i])}")
    a = run.attn(kind, layer)
    xq, xk = A.layer_inputs(run, lm, kind, layer)
    steps = A.six_steps(a, head, tok, A.attn_module(lm, kind, layer), xq[tok], xk, scale=lm.cfg.scale_attention)
    qname = q_labels[tok]

    st.subheader(T("step1"))
    rows = [f"q · {qname}"] + [f"k · {t}" for t in k_labels] + [f"v · {t}" for t in k_labels]
    fkey = (key, kind, layer, head, tok)
    plot.show(memo("six-vectors", fkey, lambda: F.vectors_heatmap(
        rows, A.qkv_rows(steps), title=T("vectors_title", tok=qname), dim_title=T("dim"), value=T("value"))), "six-vectors")
    err1 = A.by_hand_error(steps)
    st.caption(T("step1_check", err=fmt_err(err1)))

    d = steps["q"].shape[0]
    st.subheader(T("step234", d_k=d, sqrt=f"{math.sqrt(d):.3f}"))
    titles = [T("col_score"), T("col_scaled"), T("col_weight")]
    plot.show(memo("six-bars", fkey, lambda: F.step_bars(
        k_labels, steps["scores"], steps["scaled"], steps["weights"], steps["allowed"],
        title=T("steps_title", tok=qname), titles=titles, key_title=T("col_key"), masked_label=T("masked"))),
        "six-bars")
    table = pd.DataFrame({T("col_key"): k_labels, **dict(zip(titles, A.steps_table(steps), strict=True))})
    st.dataframe(table, hide_index=True, width="stretch")

    st.subheader(T("step56"))
    plot.show(memo("six-weighted", fkey, lambda: F.weighted_values(
        k_labels, steps["weighted"], steps["context"], title=T("weighted_title"), key_title=T("col_key"),
        dim_title=T("dim"), value=T("value"), sum_label=T("context"))), "six-weighted")
    ew, ec = A.trace_error(steps, a, head, tok)
    st.caption(T("six_check", w=fmt_err(ew), c=fmt_err(ec), s=f"{steps['weights'].sum():.6f}"))


def section_scaling() -> None:
    st.markdown(T("exp_scaling"))
    d_k = choice("d_k", T("d_k"), list(A.D_K_OPTIONS), 64, widget="segmented")
    table = scaling_table()
    row = next(r for r in table if r["d_k"] == d_k)
    c = st.columns(4)
    c[0].metric(T("m_var"), f"{row['var']:.2f}", help=T("m_var_help"),
                delta=f"{T('theory')} {d_k}", delta_color="off", delta_arrow="off")
    c[1].metric(T("m_var_scaled"), f"{row['var_scaled']:.3f}", delta=f"{T('theory')} 1", delta_color="off", delta_arrow="off")
    c[2].metric(T("m_max"), f"{row['max_raw']:.2f} → {row['max_scaled']:.2f}")
    c[3].metric(T("m_jac"), f"{row['jacobian_raw']:.3f} → {row['jacobian_scaled']:.3f}")
    st.caption(T("samples_note", n=f"{N_SAMPLES:,}", trials=SOFTMAX_TRIALS, keys=SOFTMAX_KEYS))
    lang = shell.lang()
    left, right = st.columns(2)
    with left:
        plot.show(memo("scaling-hist", (d_k, lang), lambda: histogram_figure(row)), "scaling-hist")
    with right:
        ex = A.example_softmax(d_k)
        plot.show(memo("scaling-example", (d_k, lang), lambda: F.softmax_example(
            ex["p_raw"], ex["p_scaled"], title=T("example_title", keys=len(ex["raw"]), d_k=d_k), x_title=T("key"),
            y_title=T("weight"), raw_label=T("raw"), scaled_label=T("scaled"))), "scaling-example")
    d_ks = [r["d_k"] for r in table]
    plot.show(memo("scaling-variance", (d_k, lang), lambda: F.variance_plot(
        d_ks, [r["var"] for r in table], [r["var_scaled"] for r in table], d_k, title=T("var_title"),
        x_title="d_k", y_title=T("variance"), raw_label=T("raw"), scaled_label=T("scaled"),
        theory_label=T("theory_dk"), one_label=T("theory_one"))), "scaling-variance")
    series = {T(f"stat_{s}"): ([r[f"{s}_raw"] for r in table], [r[f"{s}_scaled"] for r in table])
              for s in ("max", "entropy", "jacobian")}
    plot.show(memo("scaling-saturation", (d_k, lang), lambda: F.saturation_plot(
        d_ks, series, d_k, title=T("sat_title", keys=SOFTMAX_KEYS), x_title="d_k", raw_label=T("raw"),
        scaled_label=T("scaled"))), "scaling-saturation")
    st.caption(T("jac_note"))


def histogram_figure(row: dict):
    return F.qk_histogram(row["hist_centers"], row["hist_raw"], row["hist_scaled"],
                          title=T("hist_title", d_k=row["d_k"]), x_title="q·k", y_title=T("count"),
                          raw_label=T("raw"), scaled_label=T("scaled"))


def section_wq_wk(lm: A.LiveModel, name: str, d_k: int, run: A.Run, key: tuple) -> None:
    st.markdown(T("exp_wq_wk"))
    layer, head = pick_layer_head(lm)
    x, _ = A.layer_inputs(run, lm, "enc_self", layer)
    res = A.wq_wk_compare(x, A.attn_module(lm, "enc_self", layer), head)
    c = st.columns(3)
    c[0].metric(T("m_sym"), f"{res['own']['symmetry_error']:.3g} → {res['shared']['symmetry_error']:.1e}")
    c[1].metric(T("m_diag"), f"{100 * res['own']['diagonal_share']:.0f}% → {100 * res['shared']['diagonal_share']:.0f}%")
    c[2].metric(T("m_diag_w"), f"{res['own']['diagonal_weight']:.2f} → {res['shared']['diagonal_weight']:.2f}")
    toks = run.src_tokens
    titles = [T("own_w"), T("shared_w")]
    suffix = f" · {kind_label('enc_self')} · {T('layer_n', n=layer + 1)} · {T('head_n', n=head + 1)}"
    fkey = (key, layer, head)
    plot.show(memo("wqwk-scores", fkey, lambda: F.pair_heatmaps(
        res["own"]["scores"], res["shared"]["scores"], toks, toks, title=T("wq_scores_title") + suffix,
        titles=titles, x_title=T("key"), y_title=T("query"), value=T("score"), diverging=True)), "wqwk-scores")
    plot.show(memo("wqwk-weights", fkey, lambda: F.pair_heatmaps(
        res["own"]["weights"], res["shared"]["weights"], toks, toks, title=T("wq_weights_title") + suffix,
        titles=titles, x_title=T("key"), y_title=T("query"), value=T("weight"), zmin=0, zmax=1)), "wqwk-weights")


def section_multihead(lm: A.LiveModel, name: str, d_k: int, run: A.Run, key: tuple) -> None:
    st.markdown(T("exp_multihead"))
    d_model, T_ = lm.cfg.d_model, FLOP_T
    rows = multihead_table(d_model, T_)
    st.caption(T("mh_table_title", d_model=d_model, T=T_))
    df = pd.DataFrame([{T("col_heads"): r["heads"], T("col_d_k"): r["d_k"], T("col_params"): r["params"],
                        T("col_per_head"): r["per_head_params"], T("col_flops"): r["flops"],
                        T("col_formula"): r["formula"]} for r in rows])
    st.dataframe(df, hide_index=True, width="stretch")
    if len({r["params"] for r in rows}) == 1 and len({r["flops"] for r in rows}) == 1:
        st.success(T("mh_equal", params=f"{rows[0]['params']:,}", flops=f"{rows[0]['flops']:,}"),
                   icon=":material/check_circle:")
    kind = pick_kind()
    stats = head_stats(*key[:4], kind)
    rt = [T("layer_n", n=i + 1) for i in range(lm.cfg.n_layers)]
    ct = [T("head_n", n=j + 1) for j in range(lm.cfg.n_heads)]
    left, right = st.columns(2)
    with left:
        plot.show(memo("mh-entropy", (key, kind), lambda: F.metric_grid(
            stats["entropy"], title=T("entropy_title"), row_titles=rt, col_titles=ct, value=T("entropy"),
            zmin=0)), "mh-entropy")
    with right:
        plot.show(memo("mh-distance", (key, kind), lambda: F.metric_grid(
            stats["distance"], title=T("distance_title"), row_titles=rt, col_titles=ct, value=T("distance"),
            colorscale="Blues", zmin=0)), "mh-distance")
    st.caption(T("entropy_note"))
    plot.show(memo("mh-grid", (key, kind), lambda: grid_figure(
        lm, run, kind, T("mh_heads_title", kind=kind_label(kind)))), "mh-grid")


def section_live_scaling(lm: A.LiveModel, name: str, d_k: int, run: A.Run, key: tuple) -> None:
    st.markdown(T("exp_live_scaling"))
    kind = pick_kind()
    layer, head = pick_layer_head(lm)
    off = state.toggle("off", T("scale_toggle"), True)
    src = tuple(run.src_tokens)
    tgt = tuple(run.output)         # the decoder reads the same tokens in both models
    run_off = forward(name, d_k, src, tgt, scaled=False)
    run_on = forward(name, d_k, src, tgt, scaled=True)
    on_s = head_stats(name, d_k, src, tgt, kind, True)
    off_s = head_stats(name, d_k, src, tgt, kind, False)
    w_on, w_off = A.head_weights(run_on, kind, layer, head), A.head_weights(run_off, kind, layer, head)
    sat_on, sat_off = A.saturated_share(run_on, kind), A.saturated_share(run_off, kind)
    c = st.columns(4)
    c[0].metric(T("m_live_max"), f"{on_s['max_weight'].mean():.2f} → {off_s['max_weight'].mean():.2f}")
    c[1].metric(T("m_live_entropy"), f"{on_s['entropy'].mean():.2f} → {off_s['entropy'].mean():.2f}")
    c[2].metric(T("m_live_jac"), f"{on_s['jacobian'].mean():.3f} → {off_s['jacobian'].mean():.3f}")
    c[3].metric(T("m_live_sat"), f"{100 * sat_on:.0f}% → {100 * sat_off:.0f}%")
    st.caption(T("live_stats_note") + "  " + f"{T('scale_on')} → {T('scale_off')}")
    q, k = query_labels(run_on, kind)
    where = dict(kind=kind_label(kind), layer=T("layer_n", n=layer + 1), head=T("head_n", n=head + 1))
    fkey = (key, kind, layer, head)
    if off:
        plot.show(memo("live-pair", fkey, lambda: F.pair_heatmaps(
            w_on, w_off, q, k, title=T("live_title", **where), titles=[T("scale_on"), T("scale_off")],
            x_title=T("key"), y_title=T("query"), value=T("weight"), zmin=0, zmax=1)), "live-pair")
    else:
        plot.show(memo("live-single", fkey, lambda: F.attention_heatmap(
            w_on, q, k, title=T("live_single_title", state=T("scale_on"), **where), x_title=T("key"),
            y_title=T("query"), value=T("weight"))), "live-single")
    plot.show(memo("live-rows", fkey, lambda: F.row_bars(
        q, w_on.max(-1), w_off.max(-1), title=T("rows_title"), y_title=T("weight"), x_title=T("query"),
        on_label=T("scale_on"), off_label=T("scale_off"), y_max=1.05)), "live-rows")
    if lm.trained:
        st.caption(T("live_pred_on"))
        st.code(" ".join(run_on.predicted), language=None)
        st.caption(T("live_pred"))
        st.code(" ".join(run_off.predicted), language=None)
    else:
        st.caption(T("live_dk_hint"))


if section == "scaling":
    section_scaling()
else:
    ready = prepare()
    if ready is not None:
        {"heatmaps": section_heatmaps, "six_steps": section_six_steps, "wq_wk": section_wq_wk,
         "multihead": section_multihead, "live_scaling": section_live_scaling}[section](*ready)

demo_footer(PAGE)
