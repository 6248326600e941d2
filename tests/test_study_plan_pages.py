"""Issue 17 pages (AppTest, zh and en): the stats page's review history, interview plan and
memory model; home's countdown with a date set."""
from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from streamlit.testing.v1 import AppTest

from i18n import t
from questions.bank import load_bank
from study import personal
from study import plan as planner
from study import scheduler as sched
from study.store import SQLiteStore
from tests.apptest import open_page

_page = functools.partial(open_page, timeout=90)


@pytest.fixture()
def learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SQLiteStore:
    """'ana' reviewed 12 cards over the last 10 days (real scheduler), some rated Again."""
    db = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(db))
    store = SQLiteStore(db)
    me = store.create_profile("ana")
    s = sched.make_scheduler()
    now = datetime.now(UTC)
    for i, card in enumerate(load_bank().cards[:12]):
        for k, days_ago in enumerate((10, 7, 3)):
            rating = Rating.Again if (i + k) % 4 == 0 else Rating.Good
            sched.rate(store, s, me.id, card.id, rating, now=now - timedelta(days=days_ago, minutes=i))
    return store


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_stats_plan_and_model(learner: SQLiteStore, lang: str) -> None:
    at = _page("stats", lang, learner="ana")
    charts = [c for c in at.get("plotly_chart")]
    assert len(charts) >= 6   # heatmap, retention, forecast, by topic, mastery, workload
    m = metrics(at)
    assert m[t("stats.model_reviews", lang)] == f"24 / {personal.MIN_REVIEWS}"
    assert at.button(key="stats:fit").disabled
    assert t("stats.plan_none", lang) in [c.value for c in at.caption]
    # set a date 10 days on with a cap of 15: saved for the learner, the plan shows
    at.date_input(key="stats:plan_date").set_value(datetime.now(UTC).date() + timedelta(days=10))
    at.number_input(key="stats:plan_cap").set_value(15)
    at.button(key="FormSubmitter:stats:plan-" + t("stats.plan_save", lang)).click().run()
    assert not at.exception
    me = learner.profile_by_name("ana")
    saved = learner.get_setting(me.id, planner.KEY_PLAN)
    assert saved["max_per_day"] == 15
    m = metrics(at)
    assert m[t("stats.plan_days_left", lang)] == t("stats.days", lang, n=10)
    assert t("stats.plan_too_close", lang).split("{")[0][:8] in at.warning[0].value   # 165 cards, 15 a day
    # the retention control saves per learner
    at.slider(key="stats:retention").set_value(0.85)
    at.button(key="stats:retention_save").click().run()
    assert personal.load(learner, me.id).desired_retention == 0.85


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_home_countdown(learner: SQLiteStore, lang: str) -> None:
    me = learner.profile_by_name("ana")
    day = datetime.now(UTC).date() + timedelta(days=21)
    learner.set_setting(me.id, planner.KEY_PLAN, {"date": day.isoformat(), "topics": ["attention"], "max_per_day": 30})
    at = _page("home", lang, learner="ana")
    m = metrics(at)
    assert m[t("home.interview_in", lang)] == t("home.days", lang, n=21)
    share = m[t("home.plan_today", lang)]
    deck = load_bank()
    ids = [c.id for c in deck.cards if c.topic == "attention"]
    plan = planner.build(ids, {i: "attention" for i in ids}, learner.card_states(me.id),
                         datetime.now(UTC).date(), day, max_per_day=30)
    assert share == t("home.plan_today_value", lang, new=plan.days[0].new, reviews=plan.days[0].reviews)


def test_fit_saved_shows_own_parameters(learner: SQLiteStore) -> None:
    me = learner.profile_by_name("ana")
    personal.save_fit(learner, me.id, personal.Fit([0.1] * 4 + list(sched.make_scheduler().parameters)[4:],
                                                    700, 0.45, 0.42, "2026-03-01T00:00:00+00:00"))
    at = _page("stats", "en", learner="ana")
    assert metrics(at)[t("stats.model_loss_fitted", "en")] == "0.4200"
    assert any("2026-03-01" in s.value for s in at.success)
