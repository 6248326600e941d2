from ui import shell

shell.page("generation")
import streamlit as st

from demos import generation as gen
from figures import generation as fg
from model.checkpoint import CheckpointError, load_checkpoint
from model.data import TASK_NAMES, TASKS
from ui import compute, state
from ui.demo_footer import demo_footer
from ui.plot import cached, show

T = lambda key, **kw: shell.t(f"generation.{key}", **kw)  # noqa: E731
SENTENCE_KEY = "generation:sentence"
EXAMPLES = {
    "translate": ["我 现在 爱 你", "他 昨天 在 北京 吃 面条", "明天 她 不 喝 咖啡", "我们 每天 在 学校 学 英语"],
    "copy": ["3 1 4 1 5 9 2", "7 7 0 2"], "reverse": ["3 1 4 1 5 9 2", "1 2 3 4 5 6"],
    "sort": ["3 1 4 1 5 9 2", "9 8 7 6 5 4 3 2"],
}


def _reset_sentence() -> None:
    task = st.session_state.get("generation:task", "translate")
    st.session_state[SENTENCE_KEY] = TASKS[task].example


def _set_sentence(text: str) -> None:
    st.session_state[SENTENCE_KEY] = text


def _join(tokens: list[str]) -> str:
    return " ".join(tokens)


st.caption(T("intro"))
c1, c2 = st.columns([1, 2])
with c1:
    task_labels = {n: T(f"task_{n}") for n in TASK_NAMES}      # fixed labels for format_func
    task = state.select("task", T("task"), list(TASK_NAMES), "translate",
                        format_func=task_labels.get, on_change=_reset_sentence)
if SENTENCE_KEY not in st.session_state and st.query_params.get("sentence") is None:
    st.session_state[SENTENCE_KEY] = TASKS[task].example
with c2:
    text = state.text("sentence", T("sentence"), TASKS[task].example, max_chars=gen.MAX_INPUT_CHARS,
                      help=T("sentence_help"))
ex_cols = st.columns(len(EXAMPLES[task]) + 1)
ex_cols[0].caption(T("examples"))
for i, ex in enumerate(EXAMPLES[task]):
    ex_cols[i + 1].button(ex, key=f"gen-ex-{task}-{i}", on_click=_set_sentence, args=(ex,), width="stretch")

try:
    model, (src_vocab, tgt_vocab), meta = compute.call(load_checkpoint, task, cached=False)
except CheckpointError as exc:
    st.error(T("no_checkpoint", task=T(f"task_{task}"), reason=exc.reason), icon=":material/error:")
    st.caption(T("no_checkpoint_hint"))
    st.code(f"python -m model.train --task {task}", language="bash")
    st.page_link("pages/train_lab.py", label=T("open_lab"), icon=":material/model_training:")
    st.stop()

parsed = gen.parse_input(text, task, max_tokens=model.cfg.max_len - 2)
if parsed.error == "empty":
    st.info(T("empty"), icon=":material/edit:")
    st.stop()
if parsed.error == "unknown":
    st.error(T("unknown", words=shell.md_plain("、".join(parsed.unknown) if shell.lang() == "zh"
                                             else ", ".join(parsed.unknown))),
             icon=":material/help:")
    st.code("  ".join(src_vocab.itos[4:]), language=None, wrap_lines=True)
    st.stop()
if parsed.error == "too_long":
    st.warning(T("too_long", n=len(parsed.tokens), max=parsed.max_tokens), icon=":material/straighten:")
    st.stop()
tokens = parsed.tokens
gold = gen.gold_target(task, tokens)

tc = meta.get("train_config", {})
st.caption(T("model_info", layers=model.cfg.n_layers, d=model.cfg.d_model, heads=model.cfg.n_heads,
             steps=meta.get("steps", 0), secs=meta.get("train_seconds", 0.0),
             em=meta.get("heldout_exact_match", 0.0)))
if gold is None:
    st.warning(T("not_in_grammar"), icon=":material/warning:")

SECTIONS = ("greedy", "beam", "teacher_forcing")
section_labels = {s: T(f"sec_{s}") for s in SECTIONS}
section = state.section(SECTIONS, T("section_label"), format_func=section_labels.get)
# Decoding results are kept per process as shared objects (ui.compute); the page only reads
# them. Figures go through ui.plot.cached, keyed by what they show.
steps = compute.cached("greedy", (task, tuple(tokens)),
                       lambda: gen.greedy_steps(model, src_vocab, tgt_vocab, tokens), keep=128)
output = [s.chosen for s in steps]
m1, m2 = st.columns(2)
m1.markdown(f"**{T('output')}**")
m1.code(_join([o for o in output if o != "<eos>"]) or "∅", language=None)
if gold is not None:
    m2.markdown(f"**{T('reference')}**")
    m2.code(_join(gold), language=None)

if section == "greedy":
    n = len(steps)
    skey = "generation:step"
    if skey not in st.session_state or not 1 <= st.session_state[skey] <= n:
        st.session_state[skey] = max(1, n - 1)      # the last real word (e.g. "now"), before <eos>
    s1, s2, s3 = st.columns([2, 1, 1])
    with s1:
        k = st.slider(T("step"), 1, n, key=skey) if n >= 2 else 1
    with s2:
        layer_labels = {i: f"{i + 1} / {model.cfg.n_layers}" for i in range(model.cfg.n_layers)}
        layer = st.selectbox(T("layer"), list(layer_labels), index=model.cfg.n_layers - 1,
                             format_func=layer_labels.get, key="generation:layer")
    with s3:
        head_labels = {"mean": T("head_mean"), **{h: T("head_n", n=h + 1) for h in range(model.cfg.n_heads)}}
        head = st.selectbox(T("head"), list(head_labels), key="generation:head", format_func=head_labels.get)
    step = steps[k - 1]
    w, peak = gen.cross_view(step, layer, head)       # (k, S)
    rows = [f"{inp} → {out}" for inp, out in zip(step.dec_input, output[:k], strict=True)]
    st.markdown(T("dec_input", step=k))
    st.code(_join(step.dec_input), language=None)
    st.markdown(T("step_summary", prefix=f"`{_join(step.dec_input)}`", tok=step.chosen.replace("<", "‹").replace(">", "›"),
                  p=step.chosen_prob, src=tokens[peak], w=float(w[-1, peak])))
    left, right = shell.panels([3, 2], key="cross")
    with left:
        fig_key = (task, tuple(tokens), k)
        show(cached("cross", (*fig_key, layer, head), lambda: fg.attention_heatmap(
            w, tokens, rows, title=T("cross_title"), x_title=T("cross_x"), y_title=T("cross_y"),
            height=300 + 40 * k)), "cross")
        st.caption(T("cross_caption"))
    with right:
        show(cached("topk", fig_key, lambda: fg.topk_bars(
            step.top_tokens, step.top_probs, step.chosen, title=T("topk_title"), x_title=T("prob"),
            y_title=T("token"), height=360)), "topk")
    show(cached("mask", fig_key, lambda: fg.mask_heatmap(
        step.causal, step.dec_input, title=T("mask_title"), x_title=T("key"), y_title=T("query"),
        allowed=T("allowed"), blocked=T("blocked"), height=260 + 30 * k)), "mask")
    st.caption(T("mask_caption"))

elif section == "beam":
    width = state.slider("beam", T("beam_width"), 1, 6, 3)
    res = compute.cached("beam", (task, tuple(tokens), width),
                         lambda: gen.beam_steps(model, src_vocab, tgt_vocab, tokens, width), keep=128)
    st.caption(T("beam_caption"))
    best = res.final[0][0]
    if best == output:
        st.success(T("beam_same_as_greedy", text=_join(best)), icon=":material/check:")
    else:
        st.info(T("beam_differs", greedy=_join(output)), icon=":material/alt_route:")
    show(cached("beams", (task, tuple(tokens), width), lambda: fg.beam_scores(
        [(_join(h), s) for h, s in res.final], title=T("beam_final_title"), x_title=T("score"),
        y_title=T("hypothesis"), height=200 + 45 * len(res.final))), "beams")
    st.markdown(f"**{T('beam_steps_title')}**")
    table = []
    for i, (alive, done) in enumerate(zip(res.steps, res.finished, strict=True)):
        for r, (h, lp) in enumerate(alive):
            table.append({T("col_step"): i + 1, T("col_rank"): str(r + 1), T("col_hyp"): _join(h),
                          T("col_logp"): round(lp, 4), T("col_state"): T("state_alive")})
        for h, lp in done:
            table.append({T("col_step"): i + 1, T("col_rank"): "—", T("col_hyp"): _join(h),
                          T("col_logp"): round(lp, 4), T("col_state"): T("state_done")})
    st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)))

else:
    st.subheader(T("tf_question"))
    st.markdown(T("tf_answer"))
    default_gold = _join(gold if gold is not None else [o for o in output if o != "<eos>"])
    gold_text = st.text_input(T("gold"), value=default_gold, key=f"generation:gold:{task}:{_join(tokens)}",
                              max_chars=200)
    g_tokens = gold_text.split()
    unknown = gen.unknown_targets(tgt_vocab, g_tokens)
    if not g_tokens:
        st.info(T("gold_empty"), icon=":material/edit:")
    elif unknown:
        st.error(T("gold_unknown", words=shell.md_plain(", ".join(dict.fromkeys(unknown)))), icon=":material/help:")
        st.code("  ".join(tgt_vocab.itos[4:]), language=None, wrap_lines=True)
    elif len(g_tokens) > model.cfg.max_len - 2:
        st.warning(T("too_long", n=len(g_tokens), max=model.cfg.max_len - 2), icon=":material/straighten:")
    else:
        tf = compute.cached("teacher", (task, tuple(tokens), tuple(g_tokens)),
                            lambda: gen.teacher_forcing(model, src_vocab, tgt_vocab, tokens, g_tokens), keep=128)
        same = tf.parallel_pred == tf.stepwise_pred
        c1, c2, c3 = st.columns(3)
        c1.metric(T("tf_metric"), f"{tf.max_abs_logit_diff:.1e}")
        c2.metric(T("tf_same"), T("tf_yes") if same else T("tf_no"))
        c3.metric(T("tf_passes"), f"1 vs {len(tf.dec_input)}")
        pos = [f"{a} → {b}" for a, b in zip(tf.dec_input, tf.labels, strict=True)]
        show(cached("teacher", (task, tuple(tokens), tuple(g_tokens)), lambda: fg.teacher_forcing_bars(
            pos, tf.parallel_p_label, tf.stepwise_p_label, title=T("tf_title"), x_title=T("tf_pos"),
            y_title=T("prob"), parallel_name=T("tf_parallel"), stepwise_name=T("tf_stepwise"))), "teacher")
        st.dataframe([{T("col_pos"): i + 1, T("col_input"): a, T("col_label"): b, T("col_par"): p, T("col_seq"): q}
                      for i, (a, b, p, q) in enumerate(zip(tf.dec_input, tf.labels, tf.parallel_pred,
                                                           tf.stepwise_pred, strict=True))],
                     hide_index=True, width="stretch")
        st.caption(T("tf_greedy_note", text=_join(tf.greedy_output)))

with st.expander(T("vocab_title")):
    st.code("  ".join(src_vocab.itos[4:]), language=None, wrap_lines=True)
    st.code("  ".join(tgt_vocab.itos[4:]), language=None, wrap_lines=True)

demo_footer("generation")
