from ui import shell

shell.page("kv_cache")
import streamlit as st

from demos import kv_cache as D
from demos import llm
from figures import kv_cache as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "kv_cache"
DEFAULT_PROMPT = "Attention is"
PRESET_KEYS = (*D.PRESETS, "ours", "custom")
DTYPES = tuple(D.BYTES)


def T(key: str, **fmt) -> str:
    return shell.t(f"kv_cache.{key}", **fmt)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
lm = compute.call(llm.load, "lm")
cfg = lm.cfg

if section in ("steps", "timing"):
    st.caption(T("model_info", layers=cfg.n_layers, heads=cfg.n_heads, kv=cfg.n_kv_heads, dh=cfg.d_head,
                 params=f"{lm.net.num_params():,}"))
    if not lm.trained:
        st.info(T("no_model", reason=shell.md_plain(lm.reason)), icon=":material/info:")

if section == "steps":
    st.markdown(T("exp_steps"))
    c1, c2 = st.columns([2, 1])
    with c1:
        prompt = state.text("prompt", T("prompt"), DEFAULT_PROMPT, max_chars=40, help=T("prompt_help", n=40))
    ids, dropped = llm.encode(lm, prompt, 40)
    if dropped:
        st.caption(T("unknown_chars", chars=shell.md_plain(" ".join(dropped))))
    if not ids:
        st.warning(T("empty_prompt"), icon=":material/edit:")
    else:
        with c2:
            s = state.slider("step", T("step"), 0, D.MAX_STEPS, 3)
        run = compute.cached("steps", (tuple(ids), D.MAX_STEPS), lambda: D.cache_steps(lm.net, ids, D.MAX_STEPS),
                             keep=32)
        cur = run[s]
        text_so_far = llm.decode(lm, ids + [r.token for r in run[:s]])
        tok = llm.token_label(lm, cur.token)
        st.markdown(f"**{T('generated')}**")
        st.code(text_so_far + "▌", language=None, wrap_lines=True)
        st.caption(T("step_caption", s=s, n_in=cur.n_in, T=cur.k.shape[1], size=D.human_bytes(cur.nbytes),
                     layers=cfg.n_layers, tok=shell.md_plain(tok)))
        labels = [llm.token_label(lm, i) for i in ids + [r.token for r in run[:s]]]
        n_new = cur.n_in
        plot.show(plot.call(F.cache_matrices, cur.k, cur.v, labels, n_new, title=T("cache_title"),
                            k_title=T("k_title"), v_title=T("v_title"), layer_label=T("layer"),
                            dim_title=T("dim"), pos_title=T("pos")), "cache")
        st.success(T("equal_check", diff=cur.max_diff), icon=":material/check_circle:")

elif section == "timing":
    st.markdown(T("exp_timing"))
    with st.spinner(T("measuring")):
        tm = compute.cached("timing", (), lambda: D.timing(lm.net))
    L, c, u = tm["lengths"], tm["cached"], tm["uncached"]
    m1, m2, m3 = st.columns(3)
    m1.metric(T("m_cached", T=L[-1]), f"{c[-1]:.2f} ms")
    m2.metric(T("m_uncached", T=L[-1]), f"{u[-1]:.2f} ms")
    m3.metric(T("speedup", T=L[-1]), f"{u[-1] / c[-1]:.1f}×")
    plot.show(plot.call(F.timing_plot, L, c, u, title=T("timing_title"), x_title=T("timing_x"),
                        y_title=T("timing_y"), cached_label=T("with_cache"), uncached_label=T("without_cache")),
              "timing")
    st.caption(T("timing_note"))

else:
    st.markdown(T("exp_memory") if section == "memory" else T("exp_bound"))
    c1, c2, c3 = st.columns(3)
    names = {k: p.name for k, p in D.PRESETS.items()} | {"ours": T("ours"), "custom": T("custom")}
    with c1:
        key = state.select("preset", T("preset"), PRESET_KEYS, "llama2-7b", format_func=names.get)
    with c2:
        length = state.slider("length", T("length"), 256, 131072, 4096, step=256)
    with c3:
        batch = state.slider("batch", T("batch"), 1, 64, 1)
    if key == "custom":
        d1, d2, d3 = st.columns(3)
        with d1:
            layers = state.slider("layers", T("layers"), 1, 128, 32)
        with d2:
            kv = state.slider("kv_heads", T("kv_heads"), 1, 128, 8)
        with d3:
            dh = state.select("d_head", T("d_head"), (32, 64, 80, 96, 128, 256), 128)
        p = D.Preset(T("custom"), layers, kv, kv, dh, 0, length)
    else:
        p = D.preset_of(T("ours"), lm.net) if key == "ours" else D.PRESETS[key]
    dtype = state.select("dtype", T("dtype"), DTYPES, "fp16", widget="segmented")

    if section == "memory":
        total = D.preset_cache_bytes(p, length, batch, dtype)
        st.markdown(T("formula_line", L=p.layers, kv=p.kv_heads, dh=p.d_head, T=f"{length:,}", B=batch,
                      b=D.BYTES[dtype], total=f"{total:,} B = {D.human_bytes(total)}"))
        m = st.columns(4 if p.params else 2)
        m[0].metric(T("m_total"), D.human_bytes(total))
        m[1].metric(T("m_per_token"), D.human_bytes(D.bytes_per_token(p, dtype)))
        if p.params:
            w = p.params * D.BYTES[dtype]
            m[2].metric(T("m_weights"), D.human_bytes(w))
            m[3].metric(T("m_ratio"), f"{total / w:.2f}")
        if p.kv_heads < p.n_heads:
            st.info(T("gqa_note", name=p.name, kv=p.kv_heads, h=p.n_heads, r=p.n_heads // p.kv_heads),
                    icon=":material/call_split:")
        grid, series = D.memory_series([*D.PRESETS.values(), *([p] if key in ("ours", "custom") else [])],
                                       batch, dtype)
        plot.show(plot.call(F.memory_plot, grid, series, length, title=T("mem_title", B=batch, dtype=dtype),
                            x_title=T("mem_x"), y_title=T("mem_y"), current_label=T("current", T=f"{length:,}")),
                  "memory")
    else:
        if not p.params:
            p = D.PRESETS["llama2-7b"]
            st.caption(p.name)
        gpu = state.select("gpu", T("gpu"), tuple(D.GPUS), "A100 80GB SXM")
        cases = {T("decode_b1"): D.decode_cost(p, length, 1, dtype),
                 T("decode_bB", B=batch): D.decode_cost(p, length, batch, dtype),
                 T("prefill_T", T=f"{length:,}"): D.prefill_cost(p, length, 1, dtype)}
        st.table({T("bound_table_case"): list(cases),
                      T("b_flops"): [f"{c.flops:.3g}" for c in cases.values()],
                      T("b_bytes"): [D.human_bytes(c.bytes) for c in cases.values()],
                      T("b_intensity"): [f"{c.intensity:.1f}" for c in cases.values()],
                      T("b_ms"): [f"{D.min_ms_per_token(p, length, 1, gpu, dtype):.2f} ms",
                                  f"{D.min_ms_per_token(p, length, batch, gpu, dtype):.2f} ms", "—"]},
                 hide_index=True)
        peak, bw = D.GPUS[gpu]
        ridge = D.ridge_point(gpu)
        st.metric(T("b_ridge"), f"{ridge:.0f} FLOP/B")
        plot.show(plot.call(F.roofline, peak, bw, {k: c.intensity for k, c in cases.items()},
                            title=T("roof_title", gpu=gpu, name=p.name, T=f"{length:,}"), x_title=T("roof_x"),
                            y_title=T("roof_y"), ridge_label=T("ridge_label", r=ridge)), "roofline")
        st.caption(T("bound_caption"))

demo_footer(DEMO)
