"""Numbers behind the stats page (plain Python): reviews per day, retention, due forecast, mastery.

Mastery: a card counts as mastered when its fsrs stability is at least `MASTERED_STABILITY_DAYS`
(Anki's "mature" threshold, 21 days): the scheduler expects it to be remembered three weeks on.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from study.store import CardState, Review

MASTERED_STABILITY_DAYS = 21.0
AGAIN = 1


def local_date(dt: datetime, tz_offset_minutes: int = 0) -> date:
    return (dt + timedelta(minutes=tz_offset_minutes)).date()


def reviews_per_day(reviews: Iterable[Review], tz_offset_minutes: int = 0) -> dict[date, int]:
    return dict(sorted(Counter(local_date(r.reviewed_at, tz_offset_minutes) for r in reviews).items()))


@dataclass(frozen=True)
class RetentionPoint:
    day: date
    reviews: int
    retained: float      # share of reviews not rated Again that day


def retention(reviews: Iterable[Review], tz_offset_minutes: int = 0) -> list[RetentionPoint]:
    total: dict[date, int] = defaultdict(int)
    ok: dict[date, int] = defaultdict(int)
    for r in reviews:
        d = local_date(r.reviewed_at, tz_offset_minutes)
        total[d] += 1
        ok[d] += r.rating != AGAIN
    return [RetentionPoint(d, total[d], ok[d] / total[d]) for d in sorted(total)]


def due_forecast(states: Iterable[CardState], today: date, days: int = 30,
                 tz_offset_minutes: int = 0) -> list[tuple[date, int]]:
    """Cards due on each of the next `days` days; overdue cards count on today."""
    counts: Counter[date] = Counter()
    for s in states:
        d = max(local_date(s.due, tz_offset_minutes), today)
        counts[d] += 1
    return [(today + timedelta(days=i), counts.get(today + timedelta(days=i), 0)) for i in range(days)]


@dataclass(frozen=True)
class Mastery:
    topic: str
    cards: int
    studied: int
    mastered: int

    @property
    def share(self) -> float:
        return self.mastered / self.cards if self.cards else 0.0


def mastery(topics_of: dict[str, str], states: dict[str, CardState], topic_order: Sequence[str],
            threshold: float = MASTERED_STABILITY_DAYS) -> list[Mastery]:
    """Per topic: cards in the bank, cards studied, cards with stability >= threshold."""
    cards: Counter[str] = Counter(topics_of.values())
    studied: Counter[str] = Counter()
    mastered: Counter[str] = Counter()
    for qid, s in states.items():
        topic = topics_of.get(qid)
        if topic is None:
            continue
        studied[topic] += 1
        mastered[topic] += (s.stability or 0) >= threshold
    return [Mastery(t, cards[t], studied[t], mastered[t]) for t in topic_order if cards[t]]


def streak(per_day: dict[date, int], today: date) -> int:
    """Consecutive days with reviews ending today (or yesterday, when today has none yet)."""
    d = today if per_day.get(today) else today - timedelta(days=1)
    n = 0
    while per_day.get(d):
        n += 1
        d -= timedelta(days=1)
    return n


def drills_solved(status: dict[str, str], drill_ids: Sequence[str]) -> int:
    """How many of these coding drills the learner has passed at least once
    (status: ProgressStore.drill_status, {drill_id: "passed" | "failing"})."""
    return sum(1 for d in drill_ids if status.get(d) == "passed")


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def retention_by_topic(reviews: Iterable[Review], topic_of: dict[str, str], tz_offset_minutes: int = 0,
                       min_reviews: int = 1) -> dict[str, list[tuple[date, float, int]]]:
    """Per topic, per week (Monday): (week, share of reviews not rated Again, reviews), weeks
    with fewer than `min_reviews` reviews left out."""
    total: dict[str, Counter[date]] = defaultdict(Counter)
    ok: dict[str, Counter[date]] = defaultdict(Counter)
    for r in reviews:
        topic = topic_of.get(r.question_id)
        if topic is None:
            continue
        w = week_start(local_date(r.reviewed_at, tz_offset_minutes))
        total[topic][w] += 1
        ok[topic][w] += r.rating != AGAIN
    return {t: [(w, ok[t][w] / n, n) for w, n in sorted(weeks.items()) if n >= min_reviews]
            for t, weeks in total.items()}


AGAIN = 1


def weakest_topics(reviews: Iterable[Review], topic_of: dict[str, str], limit: int = 3) -> list[tuple[str, int, int]]:
    """(topic, Again ratings, reviews) of the topics with the highest share of Again ratings, worst
    first (ties: more reviews first, then the topic's name); topics with no Again are not weak."""
    total: Counter[str] = Counter()
    again: Counter[str] = Counter()
    for r in reviews:
        topic = topic_of.get(r.question_id)
        if topic is None:
            continue
        total[topic] += 1
        again[topic] += r.rating == AGAIN
    ranked = sorted((tp for tp in total if again[tp]), key=lambda tp: (-again[tp] / total[tp], -total[tp], tp))
    return [(tp, again[tp], total[tp]) for tp in ranked[:limit]]
