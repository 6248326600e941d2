"""Home page: the neutral first-visit state, and a returning learner's due cards, streak and weakest topics."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from i18n import t
from questions.bank import load_bank
from study.store import SQLiteStore
from tests.apptest import open_page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_visit(lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    at = open_page("home", lang)
    assert [x.value for x in at.title] == [t("common.page_home", lang)]
    assert at.info[0].value == t("home.start_first", lang)
    subheaders = [s.value for s in at.subheader]
    assert t("home.entry_title", lang) in subheaders and t("home.demos_title", lang) in subheaders
    assert not at.metric


def test_returning_learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(db))
    bank = load_bank()
    by_topic: dict[str, list[str]] = {}
    for c in bank.cards:
        by_topic.setdefault(c.topic, []).append(c.id)
    store = SQLiteStore(db)
    me = store.get_or_create_profile("default")
    now = datetime.now(UTC)
    # three days in a row (today included); masking forgotten 2 of 3 times, attention 1 of 2
    plan = [(by_topic["masking"][0], 1, 0), (by_topic["masking"][1], 1, 1), (by_topic["masking"][2], 3, 2),
            (by_topic["attention"][0], 1, 0), (by_topic["attention"][1], 3, 1), (by_topic["training"][0], 3, 0)]
    for qid, rating, days_ago in plan:
        due = now - timedelta(hours=1) if rating == 1 else now + timedelta(days=5)
        store.record_review(me.id, qid, rating, now - timedelta(days=days_ago, minutes=1), None, "{}", 1, due, 1.0)
    store.close()

    at = open_page("home", "en", learner="default")  # a session without ?learner= is a new guest (tests/security)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("home.due_now", "en")] == "3"        # the three cards rated Again are due
    assert metrics[t("home.streak", "en")] == t("home.days", "en", n=3)
    assert metrics[t("home.reviewed_today", "en")] == "3"
    assert metrics[t("home.new_cards", "en")] == str(len(bank.cards) - 6)
    links = [e.proto.label for e in at.get("page_link")]
    assert t("home.weak_line", "en", topic="Masking", again=2, n=3) == links[links.index(
        t("home.review_now", "en", n=3)) + 1]
    assert t("home.weak_line", "en", topic="Attention", again=1, n=2) in links
    assert not any(lbl.startswith("Training:") for lbl in links)   # never forgotten: not weak


@pytest.mark.parametrize("later", [False, True])
def test_home_and_flashcards_agree_on_what_is_due(later: bool, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after rating three new cards Good (they go to a short learning step), home must not
    say "Review now (3 due)" while flashcards says "Learning 0 · Due 0". With `later`, two more
    cards were forgotten an hour ago: both pages must count exactly those two."""
    from study import scheduler as sched

    db = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(db))
    ids = [c.id for c in load_bank().cards]
    store = SQLiteStore(db)
    me = store.get_or_create_profile("Ana")
    now = datetime.now(UTC)
    scheduler = sched.make_scheduler()
    for qid in ids[:3]:
        sched.rate(store, scheduler, me.id, qid, 3, now=now - timedelta(seconds=30))
    if later:
        for qid in ids[3:5]:
            store.record_review(me.id, qid, 1, now - timedelta(days=2), None, "{}", 2, now - timedelta(hours=1), 1.0)
    states = store.card_states(me.id)
    store.close()
    expect = sched.due_summary(ids, states, now, 3, sched.DEFAULT_NEW_PER_DAY)
    assert expect.now == (2 if later else 0)

    home = open_page("home", learner="Ana")
    metrics = {m.label: m.value for m in home.metric}
    assert metrics[t("home.due_now", "en")] == str(expect.now)
    links = [e.proto.label for e in home.get("page_link")]
    review_now = [lbl for lbl in links if lbl.startswith("Review now")]
    assert review_now == ([t("home.review_now", "en", n=2)] if later else [])

    cards = open_page("flashcards", learner="Ana")
    caption = next(c.value for c in cards.caption if "Learning" in c.value)
    learning, review = (int(x) for x in __import__("re").findall(r"(\d+)", caption)[:2])
    assert learning + review == expect.now, caption
