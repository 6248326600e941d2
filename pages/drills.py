from ui import shell

lang = shell.page("drills")
import streamlit as st
from code_editor import code_editor

from drills import registry, sandbox
from figures import drills as F
from ui import compute, plot, profile, state
from ui.cards import demo_label, get_bank, stars
from ui.demo_footer import FLASHCARDS_PAGE, quiz_params

MAX_CODE = 20_000
REVEAL_AFTER = 3
K = "drills:"


def T(key: str, **fmt) -> str:
    return shell.t(f"drills.{key}", **fmt)


me = profile.learner()
store = profile.store()
status = store.drill_status(me.id)
drills = registry.all_drills()
ICON = {"passed": "✓", "failing": "✗"}


def label(drill_id: str) -> str:
    return f"{ICON.get(status.get(drill_id), '○')} {registry.get(drill_id).title[lang]}"


st.markdown(T("intro"))
n_ok = sum(1 for d in drills if status.get(d.id) == "passed")
drill_id = state.select("drill", T("drill"), [d.id for d in drills], drills[0].id, format_func=label)
drill = registry.get(drill_id)
st.caption(T("solved", n=n_ok, total=len(drills)))
with st.expander(T("all_drills")):
    rows = [f"| {T('col_drill')} | {T('col_difficulty')} | {T('col_status')} |", "|---|---|---|"]
    for d in drills:
        s = status.get(d.id)
        rows.append(f"| {ICON.get(s, '○')} {d.title[lang]} | {stars(d.difficulty)} | {T('status_' + (s or 'new'))} |")
    st.markdown("\n".join(rows))

enabled, why = sandbox.enabled(st.get_option("server.address"))
if enabled:
    compute.cached("sandbox", "warm", sandbox.warm)   # start the workers (torch imported once) in the background

code_key, ver_key, seen_key, res_key = (f"{K}{x}:{me.id}:{drill_id}" for x in ("code", "ver", "seen", "result"))
if code_key not in st.session_state:
    st.session_state[code_key] = store.last_drill_code(me.id, drill_id) or drill.starter


def _reset() -> None:
    st.session_state[code_key] = drill.starter
    st.session_state[ver_key] = st.session_state.get(ver_key, 0) + 1


left, right = shell.panels([1, 1.5], key="drill", gap="medium")
with left:
    st.markdown(drill.statement[lang])
    st.caption(T("signature"))
    st.code(drill.signature, language="python", wrap_lines=True)
with right:
    st.markdown(f"**{T('your_code')}**")
    run_button = {"name": T("run"), "feather": "Play", "primary": True, "hasText": True, "showWithIcon": True,
                  "alwaysOn": True, "commands": ["submit"], "style": {"bottom": "0.44rem", "right": "0.4rem"}}
    resp = code_editor(st.session_state[code_key], lang="python", height=[20, 34], buttons=[run_button] if enabled else [],
                       options={"showLineNumbers": True, "tabSize": 4, "wrap": False},
                       key=f"{K}editor:{me.id}:{drill_id}:{st.session_state.get(ver_key, 0)}")
    st.caption(T("editor_help"))
    st.button(T("reset"), icon=":material/restart_alt:", on_click=_reset, key=f"{K}reset:{drill_id}")
    if not enabled:
        st.info(T("off_env" if why == "env_off" else "off_remote"), icon=":material/lock:")

# -- a new run (Ctrl+Enter or the editor's Run button) ------------------------------------------
if enabled and resp and resp.get("type") == "submit" and resp.get("id") and resp["id"] != st.session_state.get(seen_key):
    st.session_state[seen_key] = resp["id"]
    code = resp.get("text") or ""
    st.session_state[code_key] = code
    if len(code) > MAX_CODE:
        st.error(T("too_long", n=MAX_CODE), icon=":material/error:")
    else:
        with st.spinner(T("running")):
            result = sandbox.check(drill_id, code)
        revealed = bool(store.get_setting(me.id, f"drill_revealed:{drill_id}", False)) and status.get(drill_id) != "passed"
        with profile.saving(show=True):
            store.record_drill_attempt(me.id, drill_id, code, bool(result.get("passed")), result, revealed=revealed)
        st.session_state[res_key] = result
        st.rerun()                                   # refresh the status icons and the unlocks

# -- the result -------------------------------------------------------------------------------
attempts = store.drill_attempts(me.id, drill_id)
result = st.session_state.get(res_key)
if result is None and attempts:
    result = attempts[-1].result
    st.subheader(T("last_result"))
elif result is not None:
    st.subheader(T("result"))
if result:
    checks = result.get("checks", [])
    ok = sum(1 for c in checks if c.get("passed"))
    ms = round(float(result.get("ms") or 0))
    if result.get("passed"):
        st.success(T("result_passed", n=len(checks), ms=ms), icon=":material/check_circle:")
    else:
        st.error(T("result_failed", ok=ok, n=len(checks), ms=ms), icon=":material/cancel:")
    lines = []
    for c in checks:
        name = c.get("name_zh") if lang == "zh" and c.get("name_zh") else c.get("name", "")
        msg = c.get("message_zh") if lang == "zh" and c.get("message_zh") else c.get("message", "")
        mark = ":green[✓]" if c.get("passed") else ":red[✗]"
        quiet = c.get("passed") and msg in ("ok", "通过")
        lines.append(f"- {mark} **{shell.md_plain(name)}**" + ("" if quiet else f" — {shell.md_plain(msg)}"))
    st.markdown("\n".join(lines))
    figs = result.get("figures") or {}
    panels = [T("panel_yours"), T("panel_ours"), T("panel_diff")]
    if "weights" in figs:
        plot.show(plot.call(F.side_by_side, figs["weights"]["yours"], figs["weights"]["ours"], panels, T("fig_weights"),
                            zmin=0.0, zmax=1.0, x_title=T("axis_key"), y_title=T("axis_query")), "weights")
    if "pe" in figs:
        plot.show(plot.call(F.side_by_side, figs["pe"]["yours"], figs["pe"]["ours"], panels, T("fig_pe"),
                            zmin=-1.0, zmax=1.0, x_title=T("axis_dim"), y_title=T("axis_pos")), "pe")
    if "mask" in figs:
        plot.show(plot.call(F.side_by_side, figs["mask"]["yours"], figs["mask"]["ours"], panels, T("fig_mask"),
                            zmin=0.0, zmax=1.0, x_title=T("axis_key"), y_title=T("axis_query")), "mask")
    if figs.get("translations"):
        st.markdown(f"**{T('translations')}**")
        st.dataframe([{T("col_source"): r["src"], T("col_ours"): r["ours"], T("col_yours"): r["yours"]}
                      for r in figs["translations"]], hide_index=True, width="stretch")

# -- hints, reference, related ------------------------------------------------------------------
st.divider()
hints_key = f"{K}hints:{drill_id}"
shown = st.session_state.get(hints_key, 0)
st.markdown(f"**{T('hints')}**")
for i in range(shown):
    st.info(drill.hints[i][lang], icon=":material/lightbulb:")
if shown < len(drill.hints):
    if st.button(T("show_hint", i=shown + 1, n=len(drill.hints)), key=f"{K}hint_btn:{drill_id}", icon=":material/lightbulb:"):
        st.session_state[hints_key] = shown + 1
        st.rerun()
else:
    st.caption(T("no_more_hints"))

st.markdown(f"**{T('reference')}**")
passed = status.get(drill_id) == "passed"
revealed = bool(store.get_setting(me.id, f"drill_revealed:{drill_id}", False))
failures = sum(1 for a in attempts if not a.passed)
if passed or revealed:
    if revealed and not passed:
        st.caption(T("revealed_note"))
    st.code(drill.reference, language="python", line_numbers=True)
elif failures >= REVEAL_AFTER:
    if st.button(T("reveal"), key=f"{K}reveal:{drill_id}", icon=":material/visibility:"):
        with profile.saving(show=True):
            store.set_setting(me.id, f"drill_revealed:{drill_id}", True)
        st.rerun()
else:
    st.caption(T("reference_locked", n=failures))

st.markdown(f"**{T('related')}**")
bank = get_bank()
cards = [c for c in (bank.get(cid) for cid in drill.cards) if c is not None]
for c in cards:
    st.markdown(f"- {c.question.get(lang)}")  # our own bank's text (its maths renders); never imported cards
link_cols = st.columns(2)
if cards:
    link_cols[0].page_link(FLASHCARDS_PAGE, label=T("quiz_cards"), icon=":material/style:",
                           query_params=quiz_params([c.id for c in cards], lang))
link_cols[1].page_link(f"pages/{drill.demo}.py", label=f"{T('open_demo')}: {demo_label(drill.demo, lang)}",
                       icon=":material/science:")
st.caption(T("cli", id=drill_id))
