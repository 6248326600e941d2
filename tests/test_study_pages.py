"""AppTest flows of the study pages: flashcards, mock interview, stats, bad input, broken DB."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from study import grade as grading
from study import interview as iv
from study.deck import load_cards
from study.store import SQLiteStore
from tests.apptest import open_page


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "progress.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    return path


def _reviews(path: Path) -> list[tuple[str, int]]:
    return list(sqlite3.connect(path).execute("SELECT question_id, rating FROM reviews ORDER BY id"))


def test_review_five_then_a_fresh_session_continues(db: Path) -> None:
    at = open_page("flashcards")
    seen = []
    for _ in range(5):
        qid = at.session_state["fc:current"]
        seen.append(qid)
        at.button(key="fc:reveal").click().run()
        labels = [b.label for b in at.button if b.key and b.key.startswith("fc:rate")]
        assert labels == ["Again · 1 min", "Hard · 6 min", "Good · 10 min", "Easy · 8 d"]
        at.button(key="fc:rate3").click().run()
        assert not at.exception
    assert len(set(seen)) == 5
    assert _reviews(db) == [(q, 3) for q in seen]  # committed before the next card showed
    assert "new today 5/20" in at.caption[0].value

    # a new browser session on the same TIL_DB, at the learner's URL (without ?learner= it would
    # be a new guest: tests/security/test_identity_pages.py)
    fresh = open_page("flashcards", learner=at.query_params["learner"])
    first = fresh.session_state["fc:current"]
    assert first not in seen
    assert "new today 5/20" in fresh.caption[0].value
    assert "Learning 0 · Due 0 · New 15" in fresh.caption[0].value


def test_undo_and_new_card_limit(db: Path) -> None:
    at = open_page("flashcards")
    at.number_input(key=[w.key for w in at.number_input if w.key.startswith("fc:newlim")][0]).set_value(2).run()
    for _ in range(2):
        at.button(key="fc:reveal").click().run()
        at.button(key="fc:rate4").click().run()
    assert "You're done" in at.success[0].value
    assert len(_reviews(db)) == 2
    second = _reviews(db)[1][0]
    at.button(key="fc:undo").click().run()
    assert len(_reviews(db)) == 1 and at.session_state["fc:current"] == second
    assert "new today 1/2" in at.caption[0].value


def test_cram_mode_from_a_link_leaves_the_schedule_alone(db: Path) -> None:
    ids = [c.id for c in load_cards().cards[:3]]
    at = open_page("flashcards", mode="cram", cards=",".join([*ids, "no-such-card"]))
    assert "no\\-such\\-card" in at.warning[0].value  # the link's text, escaped (shell.md_plain)
    assert at.session_state["fc:current"] == ids[0]
    at.button(key="fc:reveal").click().run()
    assert [b.label for b in at.button if b.key and b.key.startswith("fc:rate")] == ["Again", "Hard", "Good", "Easy"]
    at.button(key="fc:rate1").click().run()    # Again: back to the end of the round
    assert at.session_state["fc:cram"] == [ids[1], ids[2], ids[0]]
    for _ in range(3):
        at.button(key="fc:reveal").click().run()
        at.button(key="fc:rate3").click().run()
    assert "Cram round finished" in at.success[0].value
    assert _reviews(db) == []


def test_self_check_with_hostile_input(db: Path) -> None:
    at = open_page("flashcards", check="1")
    qid = at.session_state["fc:current"]
    card = load_cards().by_id[qid]
    first_kw = card.keywords.en[0][0]
    hostile = f"<script>alert('x')</script> <b>{first_kw}</b> 🙂🚀 " + "长" * 3000 + "a" * 6900
    at.text_area(key=f"fc:ans:{qid}").input(hostile[:10_000]).run()
    at.button(key="fc:reveal").click().run()
    assert not at.exception
    if grading.rubric_for(qid) is None:  # a card without a rubric: keyword coverage as before
        cov = next(m.value for m in at.markdown if "Keyword coverage" in m.value)
        assert f"Keyword coverage {round(100 / len(card.keywords.en))}%" in cov
    else:  # issue 19: a keyword in hostile text makes no point; the rubric is shown to confirm
        sugg = [m.value for m in at.markdown if m.value.startswith("**Suggestion:")]
        assert sugg and not sugg[0].startswith("**Suggestion: good")
        assert len(at.checkbox) >= 3 and not any(c.value for c in at.checkbox)
        assert at.button(key="fc:rate1").proto.type == "primary"   # no point ticked -> Again
    # the typed text is shown as plain text (st.text), not as Markdown/HTML
    assert any(t.value == hostile[:10_000] for t in at.text)
    assert not any("<script>" in m.value for m in at.markdown)


def test_broken_database_gives_a_clear_message_and_is_kept(db: Path) -> None:
    db.write_bytes(b"garbage" * 1000)
    at = open_page("flashcards")
    assert "can't be used" in at.error[0].value and "not overwritten" in at.error[0].value
    assert db.read_bytes() == b"garbage" * 1000


def test_mock_interview_end_to_end(db: Path) -> None:
    at = open_page("interview")
    at.number_input(key="iv:n").set_value(3).run()
    at.button(key="iv:start").click().run()
    ids = at.session_state["iv:session"]["ids"]
    assert len(ids) == 3
    deck = load_cards()
    for i, qid in enumerate(ids):
        assert deck.by_id[qid].question.en in [m.value for m in at.markdown][0]
        kw = " ".join(g[0] for g in deck.by_id[qid].keywords.en) if i == 0 else "<script>x</script> 🙂"
        at.text_area(key=f"iv:text:{i}").input(kw).run()
        at.button(key="iv:submit").click().run()
        assert not at.exception
        cov = next(m.value for m in at.markdown if "Keyword coverage" in m.value)
        assert cov == ("**Keyword coverage 100%**" if i == 0 else "**Keyword coverage 0%**")
        if grading.rubric_for(qid) is not None:  # issue 19: the keyword list is judged poor, nothing pre-ticked
            sugg = [m.value for m in at.markdown if m.value.startswith("**Suggestion:")]
            assert sugg and not sugg[0].startswith("**Suggestion: good")
        at.button(key=f"iv:grade{4 if i == 0 else 1}").click().run()
        while at.session_state["iv:session"]["phase"] == "followup":   # follow-ups (issue 17), if any fire
            at.button(key="iv:fu_submit").click().run()
            at.button(key="iv:fu_grade3").click().run()
    assert at.subheader[0].value == "Interview summary"
    metrics = {m.label: m.value for m in at.metric}
    answers = at.session_state["iv:session"]["answers"]
    # the first answer (the bare keyword list) graded Easy: its score counts the points the learner
    # confirmed (none were pre-ticked) when the card has a rubric (issue 19), else keyword coverage
    first = 0.5 * (0.0 if answers[0].rubric else 1.0) + 0.5
    assert answers[0].score == first and answers[1].score == 0 == answers[2].score
    assert metrics["Mean score"] == f"{round(100 * first / 3)}%" and metrics["Answered"] == "3"
    md_button = at.get("download_button")
    assert [b.label for b in md_button] == ["Export Markdown"]
    # history saved in the store
    store = SQLiteStore(db)
    me = store.profiles()[0]
    [rec] = store.interviews(me.id)
    assert rec.summary["mean_score"] == pytest.approx(first / 3, abs=1e-3)
    # the keyword-list answer with no confirmed point is weak too (issue 19), after the two zeros
    assert rec.summary["suggested"] == ids[1:] + ([ids[0]] if first < iv.WEAK_BELOW else [])
    assert [a.answer_text for a in store.interview_answers(rec.id)][1] == "<script>x</script> 🙂"
    # the exported Markdown of that summary
    answers = at.session_state["iv:session"]["answers"]
    md = iv.to_markdown(iv.summarize(answers, deck.by_id), answers, deck.by_id, "en")
    assert "| 1 |" in md and f"| {round(100 * first)}% | 100% | Easy |" in md and "| 0% | 0% | Again |" in md
    if answers[0].rubric:  # the rubric, with nothing confirmed, in the export
        assert "Rubric (ticked = I confirmed I made the point)" in md and "- [ ] " in md
    # a new interview starts from the setup screen, with the history listed
    at.button(key="iv:new").click().run()
    assert at.button(key="iv:start") is not None and len(at.dataframe) == 1


def test_stats_page_counts(db: Path) -> None:
    at = open_page("flashcards")
    for _ in range(3):
        at.button(key="fc:reveal").click().run()
        at.button(key="fc:rate1").click().run()
    st = open_page("stats", learner=at.query_params["learner"])  # the same learner
    metrics = {m.label: m.value for m in st.metric}
    assert metrics["Reviews today"] == "3" and metrics["Streak"] == "1 day"
    assert metrics["Cards studied"].startswith("3 / ")


def test_learners_are_separate(db: Path) -> None:
    at = open_page("flashcards")
    at.button(key="fc:reveal").click().run()
    at.button(key="fc:rate3").click().run()
    at.text_input(key="_learner_new").input("Bob").run()
    at.button(key="_learner_create").click().run()
    assert at.query_params["learner"] == "Bob"
    assert "new today 0/20" in at.caption[0].value
    store = SQLiteStore(db)
    assert sorted((p.name, p.guest) for p in store.profiles())[0] == ("Bob", False)
    assert [p.guest for p in store.profiles() if p.name != "Bob"] == [True]  # the session's first learner


def test_interview_countdown_runs_out_and_moves_on(db: Path) -> None:
    at = open_page("interview")
    at.number_input(key="iv:n").set_value(2).run()
    at.button(key="iv:start").click().run()
    at.text_area(key="iv:text:0").input("half an answer").run()
    at.session_state["iv:session"]["q_started"] -= 10_000  # the clock ran out
    at.run()
    sess = at.session_state["iv:session"]
    assert sess["phase"] == "review"
    [ans] = sess["answers"]
    assert ans.timed_out and ans.text == "half an answer" and ans.seconds == 180.0
    assert any("timed out" in m.value for m in at.markdown)
