"""Personal FSRS (issue 17): the fit threshold, log-loss before/after on a simulated learner,
the workload per desired retention, per-learner settings and the scheduler they build.

The simulated learner forgets faster than fsrs's defaults assume: their true parameters are the
defaults with the four initial stabilities (w0..w3) divided by 4 and the recall-stability growth
w8 lowered from 1.87 to 1.2. The app schedules them with the default scheduler (90%); at each due
time they recall with the probability the TRUE model gives (seeded draw), rating Good (85%) or
Hard when they recall, Again when not; the first rating is Good 80% / Again 20%.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating, ReviewLog, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS

from study import personal
from study import scheduler as sched
from study.store import SQLiteStore

TRUE = list(DEFAULT_PARAMETERS)
TRUE[0:4] = [w / 4 for w in TRUE[0:4]]
TRUE[8] = 1.2


def simulate(n_cards: int, per_day: int, days: int, seed: int = 7) -> list[ReviewLog]:
    rng = random.Random(seed)
    app = Scheduler(enable_fuzzing=False)
    true = Scheduler(parameters=TRUE, enable_fuzzing=False)
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    end = t0 + timedelta(days=days)
    logs = []
    for i in range(n_cards):
        when = t0 + timedelta(days=i // per_day, minutes=rng.randint(0, 600))
        seen, real = Card(card_id=i + 1, due=when), Card(card_id=i + 1, due=when)
        while when < end:
            if real.last_review is None:
                rating = Rating.Good if rng.random() < 0.8 else Rating.Again
            elif rng.random() < true.get_card_retrievability(real, when):
                rating = Rating.Good if rng.random() < 0.85 else Rating.Hard
            else:
                rating = Rating.Again
            logs.append(ReviewLog(i + 1, rating, when, None))
            seen, _ = app.review_card(seen, rating, review_datetime=when)
            real, _ = true.review_card(real, rating, review_datetime=when)
            when = seen.due + timedelta(minutes=rng.randint(0, 120))
    return logs


@pytest.fixture(scope="module")
def learner_log() -> list[ReviewLog]:
    logs = simulate(n_cards=80, per_day=4, days=100)
    assert personal.cross_day_reviews(logs) >= personal.MIN_REVIEWS
    return logs


def test_below_threshold_keeps_defaults() -> None:
    logs = simulate(n_cards=20, per_day=4, days=40)
    n = personal.cross_day_reviews(logs)
    assert 0 < n < personal.MIN_REVIEWS
    result = personal.fit(logs)
    assert result.parameters is None and result.loss_fitted is None and result.reviews == n
    # the optimizer itself agrees: below one mini-batch it returns the defaults unchanged
    from fsrs.optimizer import Optimizer
    assert list(Optimizer(logs).compute_optimal_parameters()) == list(DEFAULT_PARAMETERS)


def test_log_loss_matches_a_direct_computation() -> None:
    logs = simulate(n_cards=5, per_day=5, days=30)
    s = sched.make_scheduler()
    by_card: dict[int, list[ReviewLog]] = {}
    for log in logs:
        by_card.setdefault(log.card_id, []).append(log)
    import math
    losses = []
    for cid, hist in by_card.items():
        card = Card(card_id=cid, due=hist[0].review_datetime)
        for log in hist:
            if card.last_review and (log.review_datetime - card.last_review).days > 0:
                r = s.get_card_retrievability(card, log.review_datetime)
                y = log.rating != Rating.Again
                losses.append(-math.log(r if y else 1 - r))
            card, _ = s.review_card(card, log.rating, review_datetime=log.review_datetime)
    assert personal.log_loss(logs) == pytest.approx(sum(losses) / len(losses))


@pytest.mark.slow  # the fsrs optimizer on 600 reviews: ~5-10 s
def test_fit_lowers_log_loss_on_a_simulated_learner(learner_log: list[ReviewLog]) -> None:
    result = personal.fit(learner_log)
    true_loss = personal.log_loss(learner_log, TRUE)
    print(f"\nreviews {len(learner_log)}, cross-day {result.reviews}; log-loss default {result.loss_default:.4f} "
          f"-> fitted {result.loss_fitted:.4f} (true parameters {true_loss:.4f})")
    assert result.parameters is not None and len(result.parameters) == 21
    assert result.loss_fitted < result.loss_default
    assert true_loss < result.loss_default   # the simulation really departs from the defaults
    # the fit moved the initial stability of Good (w2) toward the learner's (smaller) one
    assert result.parameters[2] < DEFAULT_PARAMETERS[2]


def test_settings_per_learner_and_scheduler(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "p.sqlite3")
    a, b = store.create_profile("a"), store.create_profile("b")
    params = list(TRUE)
    personal.save_fit(store, a.id, personal.Fit(params, 600, 0.45, 0.43, "x"))
    assert personal.save_retention(store, a.id, 0.99) == personal.RETENTION_MAX   # clamped to 0.97
    mine, theirs = personal.load(store, a.id), personal.load(store, b.id)
    assert mine.parameters == params and mine.desired_retention == 0.97
    assert theirs.parameters is None and theirs.desired_retention == 0.9
    s = personal.scheduler_for(store, a.id)
    assert list(s.parameters) == pytest.approx(params) and s.desired_retention == 0.97
    # a learner's own scheduler gives a shorter first interval than the defaults (they forget faster)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    card, _ = s.review_card(Card(due=now), Rating.Easy, review_datetime=now)
    default, _ = sched.make_scheduler().review_card(Card(due=now), Rating.Easy, review_datetime=now)
    assert card.due < default.due
    store.set_setting(b.id, personal.KEY_FIT, {"garbage": 1})
    assert personal.load(store, b.id).fit is None


def test_workload_grows_with_retention() -> None:
    load = personal.workload([], n_new=60, new_per_day=10, today=date(2026, 3, 1), parameters=None,
                             retentions=(0.7, 0.8, 0.9, 0.97), days=30, seed=1)
    totals = [sum(load[r]) for r in (0.7, 0.8, 0.9, 0.97)]
    assert totals == sorted(totals) and totals[0] < totals[-1]
    assert all(len(v) == 30 for v in load.values())
    assert load[0.9][0] >= 10  # the first day's new cards (and their learning steps)
