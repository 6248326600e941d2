"""The training lab's background runs: start, stop, heartbeat timeout, caps (plain Python)."""
from __future__ import annotations

import time

import pytest

from demos.lab import MAX_STEPS, LabBusy, LabRegistry, lab_config


def tiny(steps: int = 3000, **kw):
    return lab_config("copy", n_layers=1, n_heads=2, d_model=16, steps=steps, **kw)


def wait_for(pred, timeout: float = 20.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_lab_config_caps_steps_and_sets_dff():
    cfg = lab_config("sort", d_model=32, steps=10**6)
    assert cfg.steps == MAX_STEPS
    assert cfg.d_ff == 64
    assert cfg.eval_every == 50


def test_start_runs_and_stop_flag_ends_thread():
    reg = LabRegistry(heartbeat_timeout=30)
    run = reg.start("s1", tiny())
    assert wait_for(lambda: run.snapshot()["step"] >= 10), run.snapshot()
    assert run.active and run.thread.is_alive()
    with pytest.raises(LabBusy) as e:                      # one run per session at a time
        reg.start("s1", tiny())
    assert e.value.reason == "session"
    run.stop()
    run.join(10)
    assert not run.thread.is_alive()
    snap = run.snapshot()
    assert snap["status"] == "stopped"
    assert 10 <= snap["step"] < 3000
    assert snap["losses"] and all(v > 0 for v in snap["losses"])
    # after stopping, a new run may start in the same session
    run2 = reg.start("s1", tiny(steps=20))
    run2.join(30)
    assert run2.status == "done"
    assert run2.snapshot()["step"] == 20
    assert run2.snapshot()["eval_steps"] == [20]           # the last step is always evaluated
    assert 0.0 <= run2.heldout_exact_match <= 1.0


def test_heartbeat_timeout_stops_an_abandoned_run():
    reg = LabRegistry(heartbeat_timeout=0.4)
    run = reg.start("gone", tiny())
    t0 = time.monotonic()
    for _ in range(10):                                    # the page polls for a while ...
        run.beat()
        time.sleep(0.1)
    assert run.active
    run.join(15)                                           # ... then the tab closes: no beats
    assert not run.thread.is_alive()
    assert run.status == "abandoned"
    assert time.monotonic() - t0 < 10
    assert run.snapshot()["step"] < 3000


def test_process_cap_and_run_history_cap():
    reg = LabRegistry(max_runs=3, max_active=1, heartbeat_timeout=30)
    a = reg.start("a", tiny())
    with pytest.raises(LabBusy) as e:                      # another session, but the process is full
        reg.start("b", tiny())
    assert e.value.reason == "process"
    a.stop()
    a.join(10)
    ids = []
    for _ in range(4):
        r = reg.start("a", tiny(steps=5))
        r.join(30)
        ids.append(r.id)
    kept = [r.id for r in reg.runs("a")]
    assert len(kept) == 3 and kept == ids[-3:]             # oldest dropped, order kept
    reg.remove("a", ids[-1])
    assert [r.id for r in reg.runs("a")] == ids[-3:-1]


def test_trained_translation_helper_is_exported():
    from demos import lab
    from model import checkpoint

    assert lab.trained_translation is checkpoint.trained_translation


# -- the page (AppTest): renders in both languages; start and stop a tiny run ------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_train_lab_page_start_and_stop(lang):
    from demos.lab import REGISTRY
    from i18n import t
    from tests.apptest import open_page

    at = open_page("train_lab", lang, steps="3000", d_model="32", layers="1", task="reverse")
    assert t("common.page_train_lab", lang) in [e.value for e in at.title]
    assert at.info[0].value == t("train_lab.no_runs", lang)
    at.button(key="lab-start").click()
    at.run()
    sid = at.session_state["_lab_session"]
    (run,) = REGISTRY.runs(sid)
    assert run.active and run.cfg.task == "reverse" and run.cfg.d_model == 32 and run.cfg.steps == 3000
    assert wait_for(lambda: run.snapshot()["step"] >= 5)
    at.run()
    assert at.button(key="lab-start").disabled                     # one run per session
    at.button(key="lab-stop").click()
    at.run()
    assert not at.exception
    run.join(10)
    assert run.status == "stopped" and not run.thread.is_alive()
    assert 5 <= run.snapshot()["step"] < 3000
    assert not at.button(key="lab-start").disabled


# -- presets: the classroom comparisons ---------------------------------------------------------

def test_presets_are_valid_page_settings():
    from demos.lab import PRESET_PAIRS, PRESETS, preset_config

    assert {n for ns in PRESET_PAIRS.values() for n in ns} == set(PRESETS)
    for name, p in PRESETS.items():
        cfg = preset_config(name)
        assert cfg.task == p["task"] and cfg.n_layers == p["layers"] and cfg.lr == p["lr"]
        assert cfg.warmup == p["warmup"] and cfg.norm_first == (p["norm"] == "pre") and cfg.steps == p["steps"]
        assert cfg.d_model % cfg.n_heads == 0
    # the two comparisons change exactly one knob (PE) / one knob each (warmup, norm)
    diff = lambda a, b: {k for k in PRESETS[a] if PRESETS[a][k] != PRESETS[b][k]}  # noqa: E731
    assert diff("pe_on", "pe_none") == {"pe"}
    assert diff("postln_no_warmup", "postln_warmup") == {"warmup"}
    assert diff("postln_no_warmup", "preln_no_warmup") == {"norm"}


@pytest.mark.slow
def test_postln_without_warmup_stalls_where_warmup_or_preln_learn():
    """The lab's claim, measured on the preset itself (reverse, 4 layers, d_model 32, lr 0.01,
    200 steps, seed 0): Post-LN without warmup stays near chance (loss ~ ln 10 = 2.3, no sequence
    right), while the same run with warmup 100, or Pre-LN without warmup, learns."""
    import torch

    from demos.lab import measure

    torch.set_num_threads(1)
    res = measure(["postln_no_warmup", "postln_warmup", "preln_no_warmup"], [0], eval_n=100)
    bad, wu, pre = (res[n][0] for n in ("postln_no_warmup", "postln_warmup", "preln_no_warmup"))
    assert bad["final_loss"] > 1.5 and bad["exact_match"] <= 0.05, bad
    for good in (wu, pre):
        assert good["final_loss"] < 0.8 and good["exact_match"] >= 0.4, good
        assert good["final_loss"] < bad["final_loss"] / 3


def test_preset_link_and_one_click_preset_run():
    from demos.lab import PRESETS, REGISTRY
    from tests.apptest import open_page

    at = open_page("train_lab", preset="postln_no_warmup")
    p = PRESETS["postln_no_warmup"]
    assert at.selectbox(key="train_lab:layers").value == p["layers"] == 4
    assert at.selectbox(key="train_lab:lr").value == p["lr"] == 0.01
    assert at.selectbox(key="train_lab:warmup").value == 0
    assert "preset" not in at.query_params and at.query_params["warmup"] == "0"
    at.button(key="lab-preset-preln_no_warmup").click()             # one click: load + start
    at.run()
    assert not at.exception
    (run,) = REGISTRY.runs(at.session_state["_lab_session"])
    try:
        assert run.cfg.norm_first and run.cfg.warmup == 0 and run.cfg.n_layers == 4 and run.cfg.lr == 0.01
        assert at.selectbox(key="train_lab:norm").value == "pre"
        assert "Pre-LN" in run.label and "wu 0" in run.label
    finally:
        run.stop()
        run.join(10)


@pytest.mark.slow
def test_reversal_needs_positions():
    """train_lab.intro / tips 1, measured on the presets (reverse, 2 layers, 600 steps, seed 0):
    with sinusoidal PE every sequence is right, without PE about a quarter (the loss stalls)."""
    import torch

    from demos.lab import measure

    torch.set_num_threads(1)
    res = measure(["pe_on", "pe_none"], [0], eval_n=200)
    on, off = res["pe_on"][0], res["pe_none"][0]
    assert on["exact_match"] >= 0.98 and on["final_loss"] < 0.05, on
    assert 0.15 <= off["exact_match"] <= 0.35 and off["final_loss"] > 0.5, off
