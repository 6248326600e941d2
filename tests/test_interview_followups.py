"""The interviewer who follows up (issue 17): which follow-ups fire, confidence before the
reveal, "confident but wrong" flagged and rated Again in fsrs, the coding round (graded only by
drills.sandbox.check, stubbed here), and the Markdown export keeping all of it; AppTests zh/en."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from i18n import t
from study import interview as iv
from study.deck import load_cards
from study.store import SQLiteStore
from tests.apptest import open_page

DECK = load_cards()
TRIGGERED = DECK.by_id["transformer-interpretability"]     # one follow-up, trigger: causal/intervention/...
ALWAYS = DECK.by_id["transformer-parameter-count"]         # one follow-up with no trigger
TWO = DECK.by_id["why-scale-by-sqrt-dk"]                   # two follow-ups


def test_followups_fire_when_the_trigger_is_missed() -> None:
    assert iv.followups_due(TRIGGERED, "attention weights are not faithful", "en") == [0]
    assert iv.followups_due(TRIGGERED, "use causal interventions such as activation patching", "en") == []
    assert iv.followups_due(TRIGGERED, "要做因果干预", "zh") == []
    assert iv.followups_due(TRIGGERED, "", "zh") == [0]
    assert iv.followups_due(ALWAYS, "a complete answer about 12 d^2 per layer", "en") == [0]   # no trigger
    both = iv.followups_due(TWO, "", "en")
    assert both == [0, 1]
    first_kw = TWO.followups[0].trigger.en[0][0]
    assert 0 not in iv.followups_due(TWO, " ".join(g[0] for g in TWO.followups[0].trigger.en) + " " + first_kw, "en")


def test_every_difficulty_3_card_has_a_follow_up_in_both_languages() -> None:
    hard = [c for c in DECK.cards if c.difficulty == 3]
    assert hard and all(c.followups for c in hard)
    assert sum(1 for c in DECK.cards if c.followups) >= 60
    for c in DECK.cards:
        for f in c.followups:
            assert f.question.zh.strip() and f.question.en.strip() and f.answer.zh.strip() and f.answer.en.strip()


@pytest.mark.parametrize(("confidence", "grade", "flag"),
                         [(4, 1, True), (3, 2, True), (4, 3, False), (2, 1, False), (None, 1, False), (4, None, False)])
def test_confident_but_wrong(confidence, grade, flag) -> None:
    assert iv.confident_but_wrong(confidence, grade) is flag


def test_summary_and_markdown_keep_followups_flags_and_coding() -> None:
    a = iv.Answer(TRIGGERED.id, "weights show importance", 30, confidence=4, self_grade=1,
                  followups=[iv.FollowupAnswer(0, "no idea", 20, confidence=1, self_grade=1)])
    b = iv.Answer(ALWAYS.id, "12 d^2", 40, confidence=2, self_grade=3,
                  followups=[iv.FollowupAnswer(0, "sure about it", 15, confidence=4, self_grade=2)])
    c = iv.Answer(TWO.id, "softmax", 10, confidence=4, self_grade=4)
    coding = iv.coding_result("sdpa", "def f():\n    return '```'\n", 300.0, False,
                              {"passed": False, "checks": [{"passed": True}, {"passed": False}]})
    s = iv.summarize([a, b, c], DECK.by_id, coding)
    assert s.confident_wrong == [TRIGGERED.id, ALWAYS.id]       # b: confident but wrong on its follow-up
    assert iv.to_reschedule([a, b, c]) == s.confident_wrong
    assert s.rows[0]["confidence"] == 4 and s.rows[0]["confident_wrong"] and len(s.rows[1]["followups"]) == 1
    assert s.coding["checks_passed"] == 1 and s.coding["checks"] == 2 and s.coding["passed"] is False
    for lang in ("zh", "en"):
        md = iv.to_markdown(s, [a, b, c], DECK.by_id, lang)
        assert f"## {t('interview.md_conf_wrong', lang)}" in md
        assert TRIGGERED.followups[0].question.get(lang) in md and TRIGGERED.followups[0].answer.get(lang).strip() in md
        assert ALWAYS.followups[0].question.get(lang) in md and "> sure about it" in md
        assert f"## {t('interview.md_coding', lang)}: `sdpa`" in md and "(1/2)" in md
        assert "````python\ndef f():\n    return '```'\n\n````" in md   # the fence outlasts the code's own


SANDBOX_CALLS: list[tuple[str, str]] = []


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    monkeypatch.setenv("TIL_DRILLS", "on")
    monkeypatch.setattr(iv, "draw", lambda *a, **k: [TRIGGERED.id])
    from drills import sandbox
    SANDBOX_CALLS.clear()
    monkeypatch.setattr(sandbox, "check", lambda drill_id, source, **k: SANDBOX_CALLS.append((drill_id, source)) or
                        {"id": drill_id, "passed": True, "checks": [{"passed": True}] * 3, "ms": 1.0})
    return path


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_interview_with_a_follow_up_and_a_coding_round(db: Path, lang: str) -> None:
    at = open_page("interview", lang, timeout=90)
    at.number_input(key="iv:n").set_value(1)
    at.toggle(key="iv:coding").set_value(True).run()
    at.selectbox(key="iv:drill").set_value("sdpa")
    at.button(key="iv:start").click().run()
    assert at.session_state["iv:session"]["ids"] == [TRIGGERED.id]
    # confidence is asked with the question, before any reveal
    conf = next(w for w in at.get("button_group") if w.label == t("interview.confidence", lang))
    assert at.session_state["iv:session"]["answers"] == []     # asked with the question, before any reveal
    at.text_area(key="iv:text:0").input("attention weights show what matters").run()
    conf.set_value(4).run()
    at.button(key="iv:submit").click().run()
    at.button(key="iv:grade1").click().run()          # self-grade Again: confident but wrong
    assert not at.exception, [e.value for e in at.exception]
    sess = at.session_state["iv:session"]
    assert sess["phase"] == "followup"
    fu_q = TRIGGERED.followups[0].question.get(lang)
    assert any(fu_q in m.value for m in at.markdown)
    assert not any(TRIGGERED.followups[0].answer.get(lang)[:30] in m.value for m in at.markdown)  # not revealed yet
    at.text_area(key="iv:fu:0:0:text").input("probing?").run()
    at.button(key="iv:fu_submit").click().run()
    assert any(TRIGGERED.followups[0].answer.get(lang)[:30] in m.value for m in at.markdown)     # its own reveal
    at.button(key="iv:fu_grade2").click().run()
    assert at.session_state["iv:session"]["phase"] == "coding"
    at.text_area(key="iv:code").input("def sdpa(q, k, v):\n    return q\n").run()
    at.button(key="iv:code_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert SANDBOX_CALLS == [("sdpa", "def sdpa(q, k, v):\n    return q\n")]   # graded only through the sandbox
    assert at.session_state["iv:session"]["phase"] == "summary"
    assert any(TRIGGERED.question.get(lang)[:20] in e.value for e in at.error)          # flagged in the summary
    assert at.success[-1].value == t("interview.coding_passed", lang, ok=3, n=3)
    # rated Again in the learner's fsrs schedule: due again within minutes
    store = SQLiteStore(db)
    me = store.profiles()[0]
    [rev] = store.reviews(me.id)
    assert (rev.question_id, rev.rating) == (TRIGGERED.id, 1)
    due = store.card_states(me.id)[TRIGGERED.id].due
    assert (due - datetime.now(UTC)).total_seconds() < 15 * 60
    [rec] = store.interviews(me.id)
    assert rec.summary["confident_wrong"] == [TRIGGERED.id] and rec.summary["coding"]["passed"] is True
    assert rec.summary["rows"][0]["followups"][0]["text"] == "probing?"
    # a rerun does not rate it again
    at.run()
    assert len(store.reviews(me.id)) == 1
