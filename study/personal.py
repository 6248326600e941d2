"""A learner's own memory model: fsrs parameters fitted to their review log, their desired
retention, and the workload each retention would cost (plain Python; no Streamlit).

Fitting uses py-fsrs's `Optimizer` (torch). Threshold: `MIN_REVIEWS` = 512 reviews made on a
later day than the card's previous review. That is the optimizer's own rule: it trains on
mini-batches of 512 such reviews (same-day learning steps carry no loss) and returns the
default parameters unchanged below one batch, so fewer reviews cannot give a personal fit.

Log-loss is the optimizer's own objective, recomputed here without torch: each card's history
is replayed with the given parameters, and for every cross-day review the predicted
retrievability R is compared with the outcome (recalled = not rated Again):
`-mean(y log R + (1 - y) log(1 - R))`. A fit is kept only when it lowers this loss on the
learner's log; otherwise the defaults stay.

Workload: each card the learner has (and new cards at their daily limit) is simulated card by
card for the next days with the learner's parameters: at each due time the card is recalled with
probability R (a seeded draw) and rated Good, else Again; every review counts on its day
(learning steps included, as Anki counts them).
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from fsrs import Card, Rating, ReviewLog, Scheduler

from study.scheduler import DEFAULT_RETENTION, make_scheduler, stable_int
from study.store import CardState, ProgressStore, Review

MIN_REVIEWS = 512           # the optimizer's mini-batch: below it, it returns the defaults
MAX_SEQ_LEN = 64            # the optimizer uses at most the first 64 reviews of each card
RETENTION_MIN, RETENTION_MAX = 0.70, 0.97
WORKLOAD_RETENTIONS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.97)
KEY_FIT, KEY_RETENTION = "fsrs_fit", "desired_retention"
_EPS = 1e-7


def review_logs(reviews: Iterable[Review]) -> list[ReviewLog]:
    """The store's reviews as fsrs ReviewLogs (the card id is the question id's stable hash)."""
    return [ReviewLog(card_id=stable_int(r.question_id), rating=Rating(r.rating), review_datetime=r.reviewed_at,
                      review_duration=r.duration_ms) for r in reviews]


def _histories(logs: Iterable[ReviewLog]) -> dict[int, list[ReviewLog]]:
    by_card: dict[int, list[ReviewLog]] = {}
    for log in logs:
        by_card.setdefault(log.card_id, []).append(log)
    return {cid: sorted(h, key=lambda x: x.review_datetime)[:MAX_SEQ_LEN] for cid, h in sorted(by_card.items())}


def _replay(logs: Iterable[ReviewLog], parameters: Sequence[float] | None) -> list[tuple[float, int]]:
    """(predicted R, recalled) for every cross-day review, replaying each card with `parameters`."""
    scheduler = make_scheduler(parameters)
    out: list[tuple[float, int]] = []
    for cid, history in _histories(logs).items():
        card = Card(card_id=cid, due=history[0].review_datetime)
        for log in history:
            when = log.review_datetime
            if card.last_review is not None and (when - card.last_review).days > 0:
                out.append((scheduler.get_card_retrievability(card, when), int(log.rating != Rating.Again)))
            card, _ = scheduler.review_card(card, log.rating, review_datetime=when)
    return out


def cross_day_reviews(logs: Iterable[ReviewLog]) -> int:
    """Reviews made on a later day than the card's previous review (what the optimizer trains on)."""
    return len(_replay(logs, None))


def log_loss(logs: Iterable[ReviewLog], parameters: Sequence[float] | None = None) -> float:
    """Mean binary cross-entropy of predicted retrievability vs recall over cross-day reviews."""
    pairs = _replay(logs, parameters)
    if not pairs:
        return float("nan")
    total = 0.0
    for r, y in pairs:
        r = min(max(float(r), _EPS), 1 - _EPS)
        total -= y * math.log(r) + (1 - y) * math.log(1 - r)
    return total / len(pairs)


@dataclass(frozen=True)
class Fit:
    parameters: list[float] | None   # None: not enough reviews, or no improvement (defaults kept)
    reviews: int                     # cross-day reviews in the log
    loss_default: float
    loss_fitted: float | None
    fitted_at: str = ""

    @property
    def improved(self) -> bool:
        return self.parameters is not None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> Fit | None:
        if not isinstance(data, dict):
            return None
        try:
            params = data.get("parameters")
            return cls(None if params is None else [float(x) for x in params], int(data["reviews"]),
                       float(data["loss_default"]),
                       None if data.get("loss_fitted") is None else float(data["loss_fitted"]),
                       str(data.get("fitted_at", "")))
        except (KeyError, TypeError, ValueError):
            return None


def fit(logs: Sequence[ReviewLog], now: datetime | None = None) -> Fit:
    """Optimise fsrs parameters on this log (when it holds at least MIN_REVIEWS cross-day reviews)."""
    n = cross_day_reviews(logs)
    before = log_loss(logs)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    if n < MIN_REVIEWS:
        return Fit(None, n, before, None, stamp)
    from fsrs.optimizer import Optimizer  # torch: imported only when a fit is asked for

    params = [float(x) for x in Optimizer(list(logs)).compute_optimal_parameters()]
    after = log_loss(logs, params)
    return Fit(params if after < before else None, n, before, after, stamp)


# ---- saved per learner (settings table: SQLite and PostgreSQL alike) ---------------------

@dataclass(frozen=True)
class Memory:
    fit: Fit | None
    desired_retention: float

    @property
    def parameters(self) -> list[float] | None:
        return self.fit.parameters if self.fit else None

    def scheduler(self) -> Scheduler:
        return make_scheduler(self.parameters, self.desired_retention)


def clamp_retention(value: object) -> float:
    try:
        r = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_RETENTION
    if not math.isfinite(r):
        return DEFAULT_RETENTION
    return round(min(RETENTION_MAX, max(RETENTION_MIN, r)), 2)


def load(store: ProgressStore, profile_id: int) -> Memory:
    return Memory(Fit.from_json(store.get_setting(profile_id, KEY_FIT)),
                  clamp_retention(store.get_setting(profile_id, KEY_RETENTION, DEFAULT_RETENTION)))


def save_fit(store: ProgressStore, profile_id: int, result: Fit) -> None:
    store.set_setting(profile_id, KEY_FIT, result.to_json())


def save_retention(store: ProgressStore, profile_id: int, retention: float) -> float:
    r = clamp_retention(retention)
    store.set_setting(profile_id, KEY_RETENTION, r)
    return r


def scheduler_for(store: ProgressStore, profile_id: int) -> Scheduler:
    """The scheduler every page uses for this learner (their parameters and retention)."""
    return load(store, profile_id).scheduler()


# ---- workload at each desired retention --------------------------------------------------

def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def workload(states: Iterable[CardState], n_new: int, new_per_day: int, today: date,
             parameters: Sequence[float] | None, retentions: Sequence[float] = WORKLOAD_RETENTIONS,
             days: int = 30, seed: int = 0) -> dict[float, list[int]]:
    """Predicted reviews on each of the next `days` days for each desired retention (see module doc)."""
    cards = [Card.from_json(s.card_json) for s in states]
    start, end = _start_of(today), _start_of(today + timedelta(days=days))
    out: dict[float, list[int]] = {}
    for retention in retentions:
        scheduler = make_scheduler(parameters, retention)
        rng = random.Random(seed)
        counts = [0] * days
        intro = [_start_of(today + timedelta(days=i // max(1, new_per_day))) for i in range(n_new)]
        runs = [(c, max(c.due, start)) for c in cards] + [(Card(card_id=i + 1, due=t), t) for i, t in enumerate(intro)]
        for card, when in runs:
            while when < end:
                counts[(when - start).days] += 1
                if card.last_review is None:
                    rating = Rating.Good
                else:
                    recall = rng.random() < scheduler.get_card_retrievability(card, when)
                    rating = Rating.Good if recall else Rating.Again
                card, _ = scheduler.review_card(card, rating, review_datetime=when)
                when = max(card.due, when + timedelta(minutes=1))
        out[round(retention, 2)] = counts
    return out
