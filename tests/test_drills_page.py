"""The drills page (AppTest): the learner's last result comes back, the reference unlocks after
3 failed runs and revealing it is recorded, a server reachable from other machines does not run
code unless TIL_DRILLS=on, and the stats page counts drills solved."""
from __future__ import annotations

import functools

import pytest

from drills.registry import get
from study.stores import open_store
from tests.apptest import open_page

REF_LINE = "all-masked rows: NaN -> 0"          # a line of drills/refs/sdpa.py


render = functools.partial(open_page, timeout=90, check_exceptions=False)


@pytest.fixture()
def db(tmp_path, monkeypatch):
    path = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    monkeypatch.delenv("TIL_DRILLS", raising=False)
    return open_store(path)


def _fail(store, pid: int, n: int) -> dict:
    result = {"id": "sdpa", "passed": False, "ms": 12.0, "figures": {},
              "checks": [{"name": "your code compiles", "name_zh": "代码可以编译", "passed": True, "message": "ok",
                          "message_zh": "通过", "mistake": None},
                         {"name": "values: random q, k, v", "name_zh": "数值：随机 q、k、v", "passed": False,
                          "message": "Your scores are not divided by √d [x](javascript:alert(1))",
                          "message_zh": "你的分数没有除以 √d [x](javascript:alert(1))", "mistake": "no_scale"}]}
    for i in range(n):
        store.record_drill_attempt(pid, "sdpa", f"# attempt {i}\n", False, result)
    return result


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_last_result_reference_unlock_and_reveal(db, lang):
    me = db.get_or_create_profile("drill-tester")
    _fail(db, me.id, 2)
    at = render("drills", lang, learner="drill-tester", drill="sdpa")
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value in ("Result of your last run", "上次运行的结果") for s in at.subheader)
    body = "\n".join(m.value for m in at.markdown)
    assert ("√d" in body) and "javascript" in body and "](javascript" not in body     # learner text escaped
    assert not [b for b in at.button if b.label in ("Show the reference solution", "显示参考答案")]
    assert any("2" in c.value for c in at.caption if "3" in c.value)                   # "...after 3 failed runs (2 so far)"
    assert not any(REF_LINE in c.value for c in at.code)

    _fail(db, me.id, 1)                                                                 # the third failure
    at = render("drills", lang, learner="drill-tester", drill="sdpa")
    reveal = [b for b in at.button if b.label in ("Show the reference solution", "显示参考答案")]
    assert reveal
    reveal[0].click().run()
    assert any(REF_LINE in c.value for c in at.code)
    assert db.get_setting(me.id, "drill_revealed:sdpa") is True
    assert any(c.value in ("You looked at the reference before passing (recorded).", "你在通过之前查看了参考答案（已记录）。")
               for c in at.caption)


def test_remote_server_does_not_run_code_unless_turned_on(db, monkeypatch):
    from drills import sandbox
    remote = "reachable from other machines"
    at = render("drills", "en", drill="causal_mask")                  # .streamlit/config.toml: loopback
    assert not any(remote in i.value for i in at.info)
    monkeypatch.setattr(sandbox, "is_loopback", lambda address: False)
    at = render("drills", "en", drill="causal_mask")
    assert any(remote in i.value for i in at.info)
    monkeypatch.setenv("TIL_DRILLS", "on")
    at = render("drills", "en", drill="causal_mask")
    assert not any(remote in i.value for i in at.info)
    monkeypatch.setenv("TIL_DRILLS", "off")
    at = render("drills", "zh", drill="causal_mask")
    assert any("TIL_DRILLS=off" in i.value for i in at.info)


def test_hints_one_at_a_time(db):
    at = render("drills", "en", drill="rope")
    hint = get("rope").hints
    at.button(key="drills:hint_btn:rope").click().run()
    assert [i.value for i in at.info if i.value in {h["en"] for h in hint}] == [hint[0]["en"]]
    at.button(key="drills:hint_btn:rope").click().run()
    assert [i.value for i in at.info if i.value in {h["en"] for h in hint}] == [hint[0]["en"], hint[1]["en"]]


def test_stats_count_drills_solved(db):
    me = db.get_or_create_profile("solver")
    db.record_drill_attempt(me.id, "sdpa", "x", True, {"passed": True, "checks": []})
    db.record_drill_attempt(me.id, "mha", "x", False, {"passed": False, "checks": []})
    at = render("stats", "en", learner="solver")
    assert not at.exception
    metric = [m for m in at.metric if m.label == "Coding drills solved"]
    assert metric and metric[0].value == "1 / 14"
