"""The plan to an interview date (issue 17): monotonic properties, brought-forward cards, the
too-close warning, and `python -m study plan` on SQLite and PostgreSQL (settings per learner)."""
from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Rating

from questions.bank import load_bank
from study import personal
from study import plan as planner
from study import scheduler as sched
from study.__main__ import main
from study.store import CardState
from study.stores import open_store

TODAY = date(2026, 3, 1)
BANK = load_bank()
IDS = [c.id for c in BANK.cards]
TOPIC = {c.id: c.topic for c in BANK.cards}


def total(p: planner.Plan) -> tuple[int, int]:
    return sum(d.new for d in p.days), sum(d.reviews for d in p.days)


def per_day(p: planner.Plan) -> float:
    return sum(d.total for d in p.days) / len(p.days)


@pytest.mark.parametrize("days", [14, 30, 60])
def test_higher_retention_means_more_reviews(days: int) -> None:
    reviews = [total(planner.build(IDS, TOPIC, {}, TODAY, TODAY + timedelta(days=days), retention=r,
                                   max_per_day=200))[1] for r in (0.8, 0.9, 0.95)]
    assert reviews[0] < reviews[1] < reviews[2]


@pytest.mark.parametrize("retention", [0.8, 0.9, 0.95])
def test_later_date_means_fewer_per_day(retention: float) -> None:
    plans = [planner.build(IDS, TOPIC, {}, TODAY, TODAY + timedelta(days=d), retention=retention, max_per_day=200)
             for d in (10, 20, 40, 80)]
    loads = [per_day(p) for p in plans]
    assert loads == sorted(loads, reverse=True) and loads[0] > loads[-1]
    assert all(p.cards_not_introduced == 0 and p.warning is None for p in plans)
    assert all(sum(d.new for d in p.days) == len(IDS) for p in plans)   # every card introduced


def test_cap_is_respected_and_a_close_date_says_so() -> None:
    p = planner.build(IDS, TOPIC, {}, TODAY, TODAY + timedelta(days=3), max_per_day=20)
    assert all(d.total <= 20 for d in p.days) and len(p.days) == 3
    assert p.cards_not_introduced >= len(IDS) - 60 and p.warning == "too_close"
    assert sum(d.new for d in p.days) + p.cards_not_introduced == len(IDS)
    assert "cannot be introduced" in p.to_json()["warning"]
    past = planner.build(IDS, TOPIC, {}, TODAY, TODAY)
    assert past.days == [] and past.warning == "past" and past.predicted_recall_on_date == 0.0


def test_lowest_recall_cards_are_brought_forward() -> None:
    """30 cards learned yesterday (Easy: first interval ~8 days, after the interview in 5 days):
    none is due before the date, yet on the date their recall is below the plan's target (95% at
    retention 0.9); the plan reviews them as late as the cap allows, lowest recall first."""
    s = sched.make_scheduler()
    ids = IDS[:30]
    studied = datetime(2026, 2, 28, 9, tzinfo=UTC)
    states = {}
    for i, qid in enumerate(ids):
        card, _ = s.review_card(sched.new_card(i + 1, studied), Rating.Easy, review_datetime=studied)
        states[qid] = CardState(qid, card.to_json(), int(card.state), card.due, card.stability)
    interview = TODAY + timedelta(days=5)
    exam = datetime.combine(interview, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    plain = {qid: s.get_card_retrievability(sched.card_from_state(st), exam) for qid, st in states.items()}
    assert all(st.due > exam for st in states.values()) and max(plain.values()) < planner.exam_target(0.9)
    p = planner.build(ids, TOPIC, states, TODAY, interview, max_per_day=12)
    assert p.brought_forward == 30 and [d.reviews for d in p.days] == [0, 0, 6, 12, 12]  # as late as possible
    assert p.predicted_recall_on_date > sum(plain.values()) / len(plain)
    assert min(p.recall_by_card.values()) > min(plain.values())


def cli(*args: str, db: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main([*args, "--db", db], out=out, err=err), out.getvalue(), err.getvalue()


def test_plan_cli(store_target: str) -> None:
    assert cli("learners", "add", "Ana", db=store_target)[0] == 0
    base = ("plan", "--learner", "Ana", "--today", "2026-03-01", "--json")
    code, out, err = cli(*base, "--interview-date", "2026-03-31", db=store_target)
    assert code == 0, err
    doc = json.loads(out)
    assert {"days", "predicted_recall_on_date", "cards_not_introduced"} <= set(doc)
    assert len(doc["days"]) == 30 and set(doc["days"][0]) == {"date", "new", "reviews"}
    assert doc["days"][0]["date"] == "2026-03-01" and doc["cards_not_introduced"] == 0
    assert sum(d["new"] for d in doc["days"]) == len(IDS) and 0 < doc["predicted_recall_on_date"] <= 1

    def reviews(*extra: str) -> int:
        c, o, e = cli(*base, *extra, db=store_target)
        assert c == 0, e
        return sum(d["reviews"] for d in json.loads(o)["days"])

    assert reviews("--interview-date", "2026-03-31", "--retention", "0.95") > \
        reviews("--interview-date", "2026-03-31", "--retention", "0.8")
    code, out, _ = cli(*base, "--interview-date", "2026-03-04", "--max-per-day", "10", db=store_target)
    doc = json.loads(out)
    assert code == 0 and doc["cards_not_introduced"] >= len(IDS) - 30 and "warning" in doc
    assert all(d["new"] + d["reviews"] <= 10 for d in doc["days"])

    # the learner's saved retention is the default
    s = open_store(store_target)
    try:
        me = s.profile_by_name("Ana")
        personal.save_retention(s, me.id, 0.95)
    finally:
        s.close()
    assert reviews("--interview-date", "2026-03-31") == reviews("--interview-date", "2026-03-31", "--retention", "0.95")

    for bad, msg in ((("--interview-date", "31/03/2026"), "not a date"),
                     (("--interview-date", "2026-03-31", "--retention", "0.5"), "outside"),
                     (("--interview-date", "2026-03-31", "--topics", "nope"), "unknown topic")):
        code, out, err = cli(*base, *bad, db=store_target)
        assert code == 1 and msg in err and "Traceback" not in err
    code, _, err = cli("plan", "--learner", "Nobody", "--interview-date", "2026-03-31", db=store_target)
    assert code == 1 and "no learner" in err


def test_plan_cli_text(tmp_path) -> None:
    db = str(tmp_path / "p.sqlite3")
    cli("learners", "add", "Ana", db=db)
    code, out, _ = cli("plan", "--learner", "Ana", "--interview-date", "2026-03-03", "--today", "2026-03-01",
                       "--max-per-day", "5", db=db)
    assert code == 0 and "warning: date too close" in out and out.count(" new ") == 2
