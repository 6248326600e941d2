"""Stats numbers and their figures (pure builders)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from figures import study as figs
from study import stats
from study.store import CardState, Review

D = date(2026, 3, 4)  # a Wednesday


def _r(i: int, day: date, rating: int, hour: int = 10) -> Review:
    return Review(i, f"q{i}", rating, datetime(day.year, day.month, day.day, hour, tzinfo=UTC), None)


def _s(qid: str, due: datetime, stability: float) -> CardState:
    return CardState(qid, "{}", 2, due, stability)


def test_per_day_retention_and_streak() -> None:
    reviews = [_r(1, D, 3), _r(2, D, 1), _r(3, D, 4), _r(4, D - timedelta(days=1), 1), _r(5, D, 3, hour=23)]
    per_day = stats.reviews_per_day(reviews)
    assert per_day == {D - timedelta(days=1): 1, D: 4}
    # at UTC+2 the 23:00 review falls on the next day
    assert stats.reviews_per_day(reviews, 120)[D + timedelta(days=1)] == 1
    pts = stats.retention(reviews)
    assert [(p.day, p.reviews, p.retained) for p in pts] == [(D - timedelta(days=1), 1, 0.0), (D, 4, 0.75)]
    assert stats.streak(per_day, D) == 2 and stats.streak(per_day, D + timedelta(days=1)) == 2
    assert stats.streak(per_day, D + timedelta(days=2)) == 0


def test_forecast_and_mastery() -> None:
    now = datetime(2026, 3, 4, 12, tzinfo=UTC)
    states = {"a": _s("a", now - timedelta(days=3), 30.0), "b": _s("b", now + timedelta(days=2), 5.0),
              "c": _s("c", now + timedelta(days=2), 21.0), "d": _s("d", now + timedelta(days=90), 80.0)}
    fc = stats.due_forecast(states.values(), D, days=30)
    assert len(fc) == 30 and fc[0] == (D, 1) and fc[2] == (D + timedelta(days=2), 2) and sum(n for _, n in fc) == 3
    topics = {"a": "attention", "b": "attention", "c": "masking", "d": "masking", "e": "masking", "f": "training"}
    rows = stats.mastery(topics, states, ["attention", "masking", "training", "decoding"])
    assert [(m.topic, m.cards, m.studied, m.mastered) for m in rows] == [
        ("attention", 2, 2, 1), ("masking", 3, 2, 2), ("training", 1, 0, 0)]
    assert rows[1].share == 2 / 3


def test_figures_carry_the_numbers() -> None:
    per_day = {D: 5, D - timedelta(days=8): 2}
    fig = figs.calendar_heatmap(per_day, D, weeks=4, title="T", weekdays=list("MTWTFSS"), x_title="week",
                                hover_reviews="reviews")
    hm = fig.data[0]
    assert list(hm.x)[-1] == "2026-03-02"            # the Monday of D's week
    assert hm.z[2][-1] == 5 and hm.z[1][-2] == 2     # Wednesday this week, Tuesday last week
    assert hm.z[3][-1] is None                       # Thursday is in the future
    assert fig.layout.xaxis.title.text == "week" and fig.layout.title.text == "T"
    ret = figs.retention_line([D], [0.75], [4], title="R", x_title="date", y_title="kept", hover_reviews="n", end=D)
    assert list(ret.data[0].y) == [75.0] and ret.layout.yaxis.title.text == "kept"
    bar = figs.forecast_bar([D, D + timedelta(days=1)], [3, 0], title="F", x_title="d", y_title="due")
    assert list(bar.data[0].y) == [3, 0] and bar.layout.yaxis.dtick == 1
    m = figs.mastery_bar(["Attention"], [0.5], [0.75], title="M", x_title="share", mastered_label="m",
                         studied_label="s")
    assert [list(tr.x) for tr in m.data] == [[75.0], [50.0]] and m.layout.xaxis.range == (0, 100)


def test_weakest_topics_rank_by_share_of_again() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    topic_of = {"a1": "attention", "a2": "attention", "n1": "normalization", "p1": "position", "x": "unknown"}
    log = [("a1", 1), ("a1", 3), ("a2", 3), ("a2", 3),        # attention: 1 Again in 4 (25 %)
           ("n1", 1), ("n1", 1), ("n1", 3),                   # normalization: 2 in 3 (67 %)
           ("p1", 3), ("p1", 4),                              # position: no Again, not weak
           ("gone", 1)]                                       # a card no longer in the bank
    reviews = [Review(i, q, r, at, None) for i, (q, r) in enumerate(log)]
    assert stats.weakest_topics(reviews, topic_of) == [("normalization", 2, 3), ("attention", 1, 4)]
    assert stats.weakest_topics(reviews, topic_of, limit=1) == [("normalization", 2, 3)]
    assert stats.weakest_topics([], topic_of) == []
