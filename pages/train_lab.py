from ui import shell

shell.page("train_lab")
import uuid

import streamlit as st

from demos.lab import MAX_RUNS, MAX_STEPS, PRESET_PAIRS, PRESETS, REGISTRY, LabBusy, lab_config, preset_config
from figures.lab import accuracy_curves, loss_curves
from model.data import TASK_NAMES
from ui import state
from ui.demo_footer import demo_footer
from ui.plot import cached, show

T = lambda key, **kw: shell.t(f"train_lab.{key}", **kw)  # noqa: E731
SID_KEY = "_lab_session"
if SID_KEY not in st.session_state:
    st.session_state[SID_KEY] = uuid.uuid4().hex
sid = st.session_state[SID_KEY]

st.caption(T("intro"))
PAGE = "train_lab"


def _put_preset(name: str) -> None:
    """Set every configuration widget to the preset's values (before the widgets are built)."""
    for param, value in PRESETS[name].items():
        st.session_state[f"{PAGE}:{param}"] = value


def _label(n: int, p: dict) -> str:
    task_name, pe_name = T("task_" + p["task"]), T("pe_" + p["pe"])
    return (f"#{n} {task_name} · PE {pe_name} · {'Pre' if p['norm'] == 'pre' else 'Post'}-LN · "
            f"wu {p['warmup']} · lr {p['lr']:g} · {p['layers']}L {p['heads']}h d{p['d_model']}"
            f"{'' if p['scaling'] else ' · no √d_k'}")


def _start_run(cfg, params: dict) -> None:
    n = int(st.session_state.get("_lab_counter", 0)) + 1
    try:
        REGISTRY.start(sid, cfg, label=_label(n, params))
        st.session_state["_lab_counter"] = n
        st.session_state.pop("_lab_busy", None)
    except LabBusy as exc:
        st.session_state["_lab_busy"] = exc.reason


def _run_preset(name: str) -> None:
    """One click: load the preset into the widgets (and the URL) and start it."""
    _put_preset(name)
    _start_run(preset_config(name), PRESETS[name])


# ?preset=NAME (a link for the class): load it once, then the URL shows the explicit parameters
url_preset = st.query_params.get("preset")
if url_preset is not None:
    if url_preset in PRESETS:
        _put_preset(url_preset)
    else:
        state.warn_param("preset", url_preset)
    del st.query_params["preset"]

busy_now = any(r.active for r in REGISTRY.runs(sid))
with st.container(border=True):
    st.markdown(f"**{T('presets')}**")
    for group, names in PRESET_PAIRS.items():
        cols = st.columns([2, *[2] * len(names), *([2] if len(names) < 3 else [])])
        cols[0].caption(T(f"preset_group_{group}"))
        for col, name in zip(cols[1:], names, strict=False):
            col.button(T(f"preset_{name}"), key=f"lab-preset-{name}", on_click=_run_preset, args=(name,),
                       disabled=busy_now, width="stretch", help=T("preset_help"))

# format_func gets fixed label dicts (evaluated now, in the current language)
TASK_LABELS = {n: T(f"task_{n}") for n in TASK_NAMES}
PE_LABELS = {v: T(f"pe_{v}") for v in ("sinusoidal", "learned", "none")}
NORM_LABELS = {v: T(f"norm_{v}") for v in ("post", "pre")}
task = state.select("task", T("task"), list(TASK_NAMES), "reverse", widget="segmented",
                    format_func=TASK_LABELS.get)
st.caption(T(f"task_desc_{task}"))

with st.container(border=True):
    st.markdown(f"**{T('config')}**")
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        layers = state.select("layers", T("layers"), [1, 2, 3, 4], 2)
        d_model = state.select("d_model", T("d_model"), [32, 64, 128], 64)
    with c2:
        heads = state.select("heads", T("heads"), [1, 2, 4, 8], 4)
        pe = state.select("pe", T("pe"), ["sinusoidal", "learned", "none"], "sinusoidal",
                          format_func=PE_LABELS.get)
    with c3:
        norm = state.select("norm", T("norm"), ["post", "pre"], "post", format_func=NORM_LABELS.get)
        warmup = state.select("warmup", T("warmup"), [0, 50, 100, 200, 400], 100)
    with c4:
        lr = state.select("lr", T("lr"), [0.0005, 0.001, 0.002, 0.005, 0.01], 0.002)
        steps = state.slider("steps", T("steps"), 50, MAX_STEPS, 600, step=50)
    scaling = state.toggle("scaling", T("scaling"), True)

cfg = lab_config(task, n_layers=layers, n_heads=heads, d_model=d_model, pos_encoding=pe,
                 norm_first=norm == "pre", warmup=warmup, scale_attention=scaling, steps=steps, lr=lr)
runs = REGISTRY.runs(sid)
active = [r for r in runs if r.active]


params = {"task": task, "layers": layers, "heads": heads, "d_model": d_model, "pe": pe, "norm": norm,
          "warmup": warmup, "lr": lr, "steps": steps, "scaling": scaling}


def _start() -> None:
    _start_run(cfg, params)


def _clear() -> None:
    for r in REGISTRY.runs(sid):
        REGISTRY.remove(sid, r.id)


b1, b2, _ = st.columns([1, 1, 3])
b1.button(T("start"), type="primary", icon=":material/play_arrow:", on_click=_start,
          disabled=bool(active), width="stretch", key="lab-start")
b2.button(T("clear"), icon=":material/delete_sweep:", on_click=_clear, disabled=not runs or bool(active),
          width="stretch", key="lab-clear")
if st.session_state.get("_lab_busy"):
    st.warning(T(f"busy_{st.session_state['_lab_busy']}"), icon=":material/hourglass_top:")
st.caption(T("safety", max=MAX_STEPS))


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "—"
    return f"{v:.1%}" if pct else f"{v:.4f}"


@st.fragment(run_every=0.8 if active else None)
def live() -> None:
    runs = REGISTRY.runs(sid)
    for r in runs:
        r.beat()                      # heartbeat: the page is still open
    if not runs:
        st.info(T("no_runs"), icon=":material/science:")
        return
    snaps = [r.snapshot() for r in runs]
    for s in snaps:                   # legend without the task name: "#2 · PE None · Post-LN · …"
        num, _, rest = s["label"].partition(" ")
        s["legend"] = f"{num} · {rest.partition(' · ')[2]}" if " · " in rest else s["label"]
    cur_run = next((r for r in runs if r.active), runs[-1])
    cur = cur_run.snapshot()
    text = T("progress", step=cur["step"], total=cur["total"], loss=_fmt(cur["loss"]),
             em=_fmt(cur["exact_match"], True), secs=cur["elapsed"])
    st.progress(min(1.0, cur["step"] / max(1, cur["total"])),
                text=f"{cur['label']} — {T('status_' + cur['status'])} · {text}")
    if cur_run.active and st.button(T("stop"), icon=":material/stop:", key="lab-stop"):
        cur_run.stop()
        cur_run.join(5)
        st.rerun(scope="app")
    if cur["status"] == "error":
        st.error(T("run_error", msg=cur["error"]), icon=":material/error:")
    def loss_fig():
        return loss_curves(snaps, title=T("loss_title"), x_title=T("step_axis"), y_title=T("loss_axis"))

    def acc_fig():
        return accuracy_curves(snaps, title=T("acc_title"), x_title=T("step_axis"), y_title=T("acc_axis"))

    # finished runs do not change: a widget change reuses their figures (built once per process);
    # while a run is training every poll shows new points, so the figures are built fresh
    done_key = None if any(r.active for r in runs) else tuple((s["id"], s["status"], s["step"], s["legend"])
                                                               for s in snaps)
    c1, c2 = st.columns(2)
    with c1:
        show(loss_fig() if done_key is None else cached("loss", done_key, loss_fig), "loss")
    with c2:
        show(acc_fig() if done_key is None else cached("acc", done_key, acc_fig), "acc")
    st.markdown(f"**{T('runs_title', n=MAX_RUNS)}**")
    st.dataframe([{T("col_run"): s["label"], T("col_status"): T("status_" + s["status"]),
                   T("col_steps"): s["step"], T("col_loss"): _fmt(s["loss"]),
                   T("col_val"): _fmt(s["exact_match"], True), T("col_heldout"): _fmt(s["heldout_exact_match"], True),
                   T("col_time"): round(s["elapsed"], 1)} for s in snaps], hide_index=True, width="stretch")
    if active and not cur_run.active:  # the run just ended: one full rerun turns polling off
        st.rerun(scope="app")


live()

if runs and not active:
    with st.expander(T("remove")):
        run_labels = {r.id: r.label for r in runs}
        pick = st.selectbox(T("remove_pick"), list(run_labels), key="lab-remove-pick", format_func=run_labels.get)
        if st.button(T("remove"), icon=":material/delete:", key="lab-remove"):
            REGISTRY.remove(sid, pick)
            st.rerun()

with st.expander(T("tip_title")):
    st.markdown(T("tips"))

demo_footer("train_lab")
