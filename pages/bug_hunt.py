from ui import shell

shell.page("bug_hunt")
import streamlit as st

from demos import bug_hunt as D
from figures import bug_hunt as F
from figures.attention import attention_heatmap
from model.decoder import BUGS
from ui import compute, plot, profile, state
from ui.demo_footer import demo_footer

DEMO = "bug_hunt"
DEFAULT_PROMPT = "Q: What is attention?\nA: Attention"
FLAG = 1e-4


def T(key: str, **fmt) -> str:
    return shell.t(f"bug_hunt.{key}", **fmt)


def evidence(b: D.BuggyLM, ids: list[int]) -> D.Evidence:
    return compute.cached("evidence", (b.name, tuple(ids)), lambda: D.evidence(b.net, ids), keep=64)


st.markdown(T("intro"))
me = profile.learner()
store = profile.store()
rec = {**D.new_record(), **(store.get_setting(me.id, D.SETTING) or {})}
bug = D.pick_bug(me.id, rec["round"])
done = D.answered_this_round(rec)

try:
    buggy, clean = compute.call(D.load, bug), compute.call(D.load, "clean")
except D.AssetError as exc:
    st.warning(T("no_assets", reason=shell.md_plain(exc.reason)), icon=":material/build:")
    st.code("python -m demos.bug_hunt --build", language="bash")
    demo_footer(DEMO)
    st.stop()

c1, c2 = st.columns([1, 3])
c1.subheader(T("round", n=rec["round"] + 1))
c2.metric(T("score", s=rec["score"], a=rec["answered"]), f"{rec['score']} / {rec['answered']}", label_visibility="collapsed")
b = buggy.net.cfg
st.caption(T("model_info", layers=b.n_layers, d=b.d_model, h=b.n_heads, g=b.n_kv_heads,
             steps=buggy.history[-1][0], ctx=D.BuildConfig().ctx_len))

st.subheader(T("ev_loss"))
plot.show(plot.call(F.loss_plot, {T("this_model"): buggy.history, T("clean_model"): clean.history},
                    title=T("loss_title"), x_title=T("loss_x"), y_title=T("loss_y"), train_label=T("train"),
                    val_label=T("val")), "loss")
st.caption(T("loss_caption", a=buggy.history[-1][1], b=buggy.history[-1][2], c=clean.history[-1][1],
             d=clean.history[-1][2]))

st.subheader(T("ev_attn"))
c1, c2, c3 = st.columns([3, 1, 1])
with c1:
    text = state.text_area("prompt", T("prompt"), DEFAULT_PROMPT, max_chars=64, height=80)
with c2:
    layer = state.slider("layer", T("layer"), 1, b.n_layers, 1)
with c3:
    head = state.slider("head", T("head"), 1, b.n_heads, 1)
ids = buggy.encode(text)
if len(ids) < 2:
    st.warning(T("empty_prompt"), icon=":material/edit:")
else:
    ev = evidence(buggy, ids)
    labels = [buggy.label(i) for i in ids]
    plot.show(plot.call(attention_heatmap, ev.attn[layer - 1, head - 1], labels, labels,
                        title=T("attn_title", l=layer, h=head), x_title=T("key"), y_title=T("query"),
                        value=T("weight"), annotate=False, zmax=None), "attn")

    st.subheader(T("ev_gen"))
    g1, g2 = st.columns(2)
    head_text = buggy.tok.decode(ids)
    g1.markdown(f"**{T('gen_cached')}**")
    g1.code(head_text + buggy.tok.decode(ev.gen_cached), language=None, wrap_lines=True)
    g2.markdown(f"**{T('gen_full')}**")
    g2.code(head_text + buggy.tok.decode(ev.gen_full), language=None, wrap_lines=True)

    st.subheader(T("ev_probe"))
    probes = [(T("p_rows"), ev.row_sums), (T("p_upper"), ev.upper_mass), (T("p_leak"), ev.leak),
              (T("p_cache"), ev.cache_diff)]
    st.table({T("p_col_probe"): [p for p, _ in probes], T("p_col_value"): [f"{v:.2e}" for _, v in probes],
                  T("p_col_flag"): ["⚠️" if v > FLAG else "✓" for _, v in probes]}, hide_index=True)
    st.caption(T("p_ok"))
    ref = evidence(clean, ids)
    st.markdown(T("p_entropy", a=ev.entropy, b=ref.entropy))

st.divider()
names = {x: T(f"name_{x}") for x in BUGS}
if done is None:
    guess = st.radio(T("guess"), list(BUGS), format_func=names.get, key=f"bug_hunt:guess:{rec['round']}", index=None)
    if st.button(T("submit"), type="primary", disabled=guess is None, icon=":material/send:", key="bug_hunt:submit"):
        with profile.saving(show=True):
            store.set_setting(me.id, D.SETTING, D.answer(rec, bug, guess))
            st.rerun()
else:
    if done["correct"]:
        st.success(T("correct", bug=names[done["bug"]]), icon=":material/check_circle:")
    else:
        st.error(T("wrong", guess=names.get(done["guess"], done["guess"]), bug=names[done["bug"]]), icon=":material/close:")
    dk = buggy.net.cfg.d_head
    st.markdown(f"**{T('why')}**: " + (T("exp_no_scale", dk=dk, s=dk ** 0.5) if done["bug"] == "no_scale"
                                      else T(f"exp_{done['bug']}")))
    if st.button(T("next"), type="primary", icon=":material/skip_next:", key="bug_hunt:next"):
        with profile.saving(show=True):
            store.set_setting(me.id, D.SETTING, D.next_round(rec))
            st.rerun()
if rec["history"]:
    with st.expander(T("history")):
        recent = rec["history"][-10:][::-1]
        st.table({T("col_round"): [h["round"] + 1 for h in recent],
                      T("col_bug"): [names.get(h["bug"], h["bug"]) for h in recent],
                      T("col_guess"): [names.get(h["guess"], h["guess"]) for h in recent],
                      T("col_ok"): ["✓" if h["correct"] else "✗" for h in recent]}, hide_index=True)

demo_footer(DEMO)
