"""Spaced repetition on top of py-fsrs 6 (no hand-written scheduling).

A question id maps to a fixed fsrs card id (a stable 62-bit hash, stored in the progress file
the first time). The review queue serves, in order: learning/relearning cards that are due,
review cards that are due, then new cards (never reviewed) up to the daily limit; when nothing
else is left, learning cards due within `LEARN_AHEAD` are served early (as Anki does).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating, Scheduler, State

from study.store import CardState, ProgressStore

DEFAULT_NEW_PER_DAY = 20
LEARN_AHEAD = timedelta(minutes=20)
RATINGS = (Rating.Again, Rating.Hard, Rating.Good, Rating.Easy)


DEFAULT_RETENTION = 0.9


def make_scheduler(parameters: Sequence[float] | None = None,
                   desired_retention: float = DEFAULT_RETENTION) -> Scheduler:
    """The app's scheduler: a learner's own fsrs parameters when fitted (study/personal.py),
    else fsrs defaults; their desired retention (default 90%); no fuzz (intervals shown on the
    buttons are then exactly the ones applied)."""
    if parameters is None:
        return Scheduler(desired_retention=desired_retention, enable_fuzzing=False)
    return Scheduler(parameters=tuple(parameters), desired_retention=desired_retention, enable_fuzzing=False)


def stable_int(question_id: str) -> int:
    """A stable positive 62-bit int from a question id (fits SQLite and Anki's int64)."""
    digest = hashlib.blake2b(question_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 62) - 1)


def card_id_for(store: ProgressStore, question_id: str) -> int:
    return store.card_int(question_id, stable_int(question_id))


def new_card(card_id: int, now: datetime) -> Card:
    return Card(card_id=card_id, due=now)


def card_from_state(state: CardState) -> Card:
    return Card.from_json(state.card_json)


def preview(scheduler: Scheduler, card: Card, now: datetime) -> dict[Rating, timedelta]:
    """The interval each rating would give, computed without committing anything."""
    out = {}
    for rating in RATINGS:
        nxt, _ = scheduler.review_card(card, rating, review_datetime=now)
        out[rating] = nxt.due - now
    return out


def interval_parts(delta: timedelta) -> tuple[float, str]:
    """(value, unit) with unit in min/hour/day/month/year, for a compact button label."""
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return max(1, round(minutes)), "min"
    hours = minutes / 60
    if hours < 24:
        return round(hours), "hour"
    days = hours / 24
    if days < 30:
        return round(days), "day"
    if days < 365:
        return round(days / 30, 1), "month"
    return round(days / 365, 1), "year"


def today_start(now: datetime, tz_offset_minutes: int = 0) -> datetime:
    """Start of the learner's local day (given their UTC offset), in UTC."""
    local = now.astimezone(UTC) + timedelta(minutes=tz_offset_minutes)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start - timedelta(minutes=tz_offset_minutes)


@dataclass
class Queue:
    learning: list[str] = field(default_factory=list)   # due learning/relearning, earliest first
    review: list[str] = field(default_factory=list)     # due reviews, earliest first
    new: list[str] = field(default_factory=list)        # never reviewed, within today's limit
    ahead: list[str] = field(default_factory=list)      # learning cards due soon (served last)
    new_today: int = 0
    new_limit: int = DEFAULT_NEW_PER_DAY
    new_total: int = 0                                   # never-reviewed cards in the filter

    def order(self) -> list[str]:
        return [*self.learning, *self.review, *self.new, *self.ahead]

    def next(self, skip: Iterable[str] = ()) -> str | None:
        skip = set(skip)
        for qid in self.order():
            if qid not in skip:
                return qid
        return None

    def __len__(self) -> int:
        return len(self.learning) + len(self.review) + len(self.new)


def build_queue(question_ids: Sequence[str], states: dict[str, CardState], now: datetime,
                new_today: int, new_limit: int) -> Queue:
    """The review queue for the given cards (already filtered by topic), in bank order."""
    q = Queue(new_today=new_today, new_limit=new_limit)
    learning, review, ahead = [], [], []
    new_room = max(0, new_limit - new_today)
    for qid in question_ids:
        st = states.get(qid)
        if st is None:
            q.new_total += 1
            if len(q.new) < new_room:
                q.new.append(qid)
            continue
        if st.state in (State.Learning, State.Relearning):
            if st.due <= now:
                learning.append((st.due, qid))
            elif st.due <= now + LEARN_AHEAD:
                ahead.append((st.due, qid))
        elif st.due <= now:
            review.append((st.due, qid))
    q.learning = [qid for _, qid in sorted(learning)]
    q.review = [qid for _, qid in sorted(review)]
    q.ahead = [qid for _, qid in sorted(ahead)]
    return q


@dataclass(frozen=True)
class Due:
    """What a learner has to do now, as the flashcards page will serve it (home and flashcards
    both read this, so they never disagree)."""

    learning: int      # learning/relearning cards due now
    review: int        # review cards due now
    new: int           # new cards still allowed today (daily limit)
    later_today: int   # cards that fall due later today (local date), not yet servable

    @property
    def now(self) -> int:
        return self.learning + self.review


def due_summary(question_ids: Sequence[str], states: dict[str, CardState], now: datetime, new_today: int,
                new_limit: int, tz_offset_minutes: int = 0) -> Due:
    q = build_queue(question_ids, states, now, new_today, new_limit)
    end_of_day = today_start(now, tz_offset_minutes) + timedelta(days=1)
    ids = set(question_ids)
    later = sum(1 for qid, s in states.items() if qid in ids and now < s.due < end_of_day)
    return Due(len(q.learning), len(q.review), len(q.new), later)


@dataclass(frozen=True)
class Rated:
    review_id: int
    card: Card
    interval: timedelta


def rate(store: ProgressStore, scheduler: Scheduler, profile_id: int, question_id: str, rating: Rating,
         now: datetime | None = None, duration_ms: int | None = None) -> Rated:
    """Review one card and commit it (review log + new state) before returning."""
    now = now or datetime.now(UTC)
    states = store.card_states(profile_id)
    prev = states.get(question_id)
    card = card_from_state(prev) if prev else new_card(card_id_for(store, question_id), now)
    nxt, _log = scheduler.review_card(card, Rating(rating), review_datetime=now, review_duration=duration_ms)
    rid = store.record_review(
        profile_id, question_id, int(rating), now,
        prev_card_json=prev.card_json if prev else None,
        new_card_json=nxt.to_json(), state=int(nxt.state), due=nxt.due, stability=nxt.stability,
        duration_ms=duration_ms)
    return Rated(rid, nxt, nxt.due - now)


def current_card(store: ProgressStore, profile_id: int, question_id: str, now: datetime) -> Card:
    st = store.card_states(profile_id).get(question_id)
    return card_from_state(st) if st else new_card(card_id_for(store, question_id), now)


def card_summary(card_json: str) -> dict:
    data = json.loads(card_json)
    return {"state": data["state"], "stability": data.get("stability"), "due": data["due"]}
