"""A plan to an interview date (plain Python; no Streamlit).

The plan is the expected path of the learner's scheduler (their fsrs parameters and desired
retention), one study day at a time from `today` to the day before the interview, under a daily
cap on cards (new + reviews):

1. Due cards first (earliest due first); what the cap leaves over waits for the next day.
2. New cards: every chosen card must be introduced before the date, so each day takes
   ceil(cards left / days left) of them, within what the cap leaves.
3. Brought forward: between two reviews fsrs lets recall sink to the desired retention R; the
   interview is the one day the learner wants it high, so the plan aims at `exam_target(R)` =
   halfway between R and 100% (95% at R = 0.9) on that day. A card its scheduler would not show
   again before the date and whose predicted recall on the date is below that target gets one
   extra review, as late as possible (the latest day with room under the cap), lowest predicted
   recall first. The plan is then replayed with those extra reviews in place.
When the cap leaves due cards over, the ones with the lowest predicted recall on the date go first.

Every review on the path is rated Good (the expected outcome: the scheduler aims at recall);
same-day learning steps are part of the card's one review that day. Predicted recall on the date
is the fsrs retrievability of each chosen card on the interview morning, a card never introduced
counting 0; it is averaged over all chosen cards and per topic.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from fsrs import Card, Rating, Scheduler, State

from study.scheduler import make_scheduler
from study.store import CardState

DEFAULT_MAX_PER_DAY = 40
KEY_PLAN = "interview_plan"   # setting: {"date": "YYYY-MM-DD", "topics": [...], "max_per_day": n}


@dataclass(frozen=True)
class Day:
    date: date
    new: int
    reviews: int

    @property
    def total(self) -> int:
        return self.new + self.reviews


@dataclass
class Plan:
    days: list[Day]
    predicted_recall_on_date: float
    recall_by_topic: dict[str, float]
    cards_not_introduced: int
    backlog_on_date: int                 # due cards the cap left unreviewed by the date
    brought_forward: int
    needed_per_day: int                  # cap at which every card is introduced in time
    warning: str | None = None           # "too_close" | "past" | None
    cards: int = 0
    days_left: int = 0
    max_per_day: int = 0
    recall_by_card: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        out: dict = {
            "days": [{"date": d.date.isoformat(), "new": d.new, "reviews": d.reviews} for d in self.days],
            "predicted_recall_on_date": round(self.predicted_recall_on_date, 4),
            "cards_not_introduced": self.cards_not_introduced,
            "cards": self.cards,
            "days_left": self.days_left,
            "brought_forward": self.brought_forward,
            "backlog_on_date": self.backlog_on_date,
            "recall_by_topic": {k: round(v, 4) for k, v in self.recall_by_topic.items()},
        }
        if self.warning:
            out["warning"] = self.warning_text()
        return out

    def warning_text(self) -> str:
        if self.warning == "past":
            return "the interview date is today or past: no study days left"
        return (f"date too close for the cap of {self.max_per_day} cards a day: {self.cards_not_introduced} card(s) "
                f"cannot be introduced before the interview (new cards alone need {self.needed_per_day} a day, "
                f"on top of reviews); raise the cap, pick fewer topics or lower the retention")


def exam_target(retention: float) -> float:
    return (1.0 + retention) / 2


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=UTC)


def _study(scheduler: Scheduler, card: Card, day: date) -> Card:
    """One day's review of a card rated Good, through its same-day learning steps."""
    when = _at(day)
    card, _ = scheduler.review_card(card, Rating.Good, review_datetime=when)
    while card.state != State.Review and card.due.date() <= day:
        when = max(card.due, when + timedelta(minutes=1))
        card, _ = scheduler.review_card(card, Rating.Good, review_datetime=when)
    return card


def _run(scheduler: Scheduler, start: dict[str, Card], new_ids: Sequence[str], today: date, n_days: int,
         cap: int, extra: Mapping[int, set[str]]) -> tuple[list[Day], dict[str, Card], dict[str, int], int]:
    cards = dict(start)
    last: dict[str, int] = {}
    left = list(new_ids)
    days: list[Day] = []
    exam = _at(today + timedelta(days=n_days))
    for i in range(n_days):
        day = today + timedelta(days=i)
        due = [qid for qid, c in cards.items() if c.due.date() <= day]
        if len(due) > cap:  # the cap binds: lowest predicted recall on the date first
            due.sort(key=lambda q: (scheduler.get_card_retrievability(cards[q], exam), q))
        else:
            due.sort(key=lambda q: (cards[q].due, q))
        todo = due
        todo += [qid for qid in sorted(extra.get(i, ())) if qid in cards and qid not in todo]
        todo = todo[:cap]
        for qid in todo:
            cards[qid] = _study(scheduler, cards[qid], day)
            last[qid] = i
        quota = math.ceil(len(left) / (n_days - i)) if left else 0
        n_new = max(0, min(quota, cap - len(todo)))
        for qid in left[:n_new]:
            cards[qid] = _study(scheduler, Card(card_id=1, due=_at(day)), day)  # id given: Card() sleeps 1 ms
            last[qid] = i
        left = left[n_new:]
        days.append(Day(day, n_new, len(todo)))
    backlog = sum(1 for c in cards.values() if n_days and c.due.date() < today + timedelta(days=n_days))
    return days, cards, last, backlog


def build(question_ids: Sequence[str], topic_of: Mapping[str, str], states: Mapping[str, CardState],
          today: date, interview: date, *, parameters: Sequence[float] | None = None,
          retention: float = 0.9, max_per_day: int = DEFAULT_MAX_PER_DAY) -> Plan:
    """The plan for these cards (see the module doc)."""
    scheduler = make_scheduler(parameters, retention)
    cap = max(1, int(max_per_day))
    n_days = max(0, (interview - today).days)
    start = {qid: Card.from_json(states[qid].card_json) for qid in question_ids if qid in states}
    new_ids = [qid for qid in question_ids if qid not in states]
    exam = _at(interview)

    days, cards, last, backlog = _run(scheduler, start, new_ids, today, n_days, cap, {})
    extra: dict[int, set[str]] = defaultdict(set)
    if n_days:
        room = [cap - d.total for d in days]
        target = exam_target(retention)
        last_day = _at(interview - timedelta(days=1))
        weak = sorted((r, qid) for qid, c in cards.items()
                      if c.due > last_day and (r := scheduler.get_card_retrievability(c, exam)) < target)
        for _, qid in weak:
            i = next((j for j in range(n_days - 1, last.get(qid, -1), -1) if room[j] > 0), None)
            if i is None:
                continue
            room[i] -= 1
            extra[i].add(qid)
        if extra:
            days, cards, last, backlog = _run(scheduler, start, new_ids, today, n_days, cap, extra)

    recall = {qid: (scheduler.get_card_retrievability(cards[qid], exam) if qid in cards else 0.0)
              for qid in question_ids}
    by_topic: dict[str, list[float]] = defaultdict(list)
    for qid, r in recall.items():
        by_topic[topic_of.get(qid, "?")].append(r)
    not_introduced = sum(1 for qid in question_ids if qid not in cards)
    needed = math.ceil(len(new_ids) / n_days) if n_days else len(new_ids)
    warning = "past" if n_days == 0 else ("too_close" if not_introduced else None)
    return Plan(days, sum(recall.values()) / len(recall) if recall else 0.0,
                {t: sum(v) / len(v) for t, v in by_topic.items()}, not_introduced, backlog,
                sum(len(v) for v in extra.values()), needed, warning, len(question_ids), n_days, cap, recall)


def parse_date(text: str) -> date:
    """YYYY-MM-DD (ValueError with the reason otherwise)."""
    return date.fromisoformat(str(text).strip())
