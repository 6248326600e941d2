"""Mock interview logic: drawing, scoring, summary and Markdown."""
from __future__ import annotations

from datetime import datetime

from study import interview as iv
from study.deck import load_cards


def test_draw_filters_and_spreads() -> None:
    deck = load_cards()
    ids = iv.draw(deck.cards, 6, seed=1)
    assert len(ids) == len(set(ids)) == 6
    assert iv.draw(deck.cards, 6, seed=1) == ids
    topics = {deck.by_id[i].topic for i in ids}
    assert len(topics) >= min(6, len({c.topic for c in deck.cards}))  # round-robin across topics
    only = iv.draw(deck.cards, 50, topics=["attention"], difficulties=[1], seed=2)
    assert only and all(deck.by_id[i].topic == "attention" and deck.by_id[i].difficulty == 1 for i in only)
    assert len(only) == sum(1 for c in deck.cards if c.topic == "attention" and c.difficulty == 1)
    assert iv.draw(deck.cards, 3, topics=["no-such-topic"]) == []


def test_score_and_summary() -> None:
    a = iv.Answer("q1", coverage=1.0, self_grade=3, seconds=30)
    b = iv.Answer("q2", coverage=0.2, self_grade=1, seconds=61, timed_out=True)
    c = iv.Answer("q3", coverage=0.5)
    assert a.score == 0.9 and b.score == 0.1 and c.score == 0.5
    deck = load_cards()
    cards = {c.id: c for c in deck.cards}
    ids = list(cards)[:3]
    a.question_id, b.question_id, c.question_id = ids
    s = iv.summarize([a, b, c], cards)
    assert s.mean_score == 0.5 and s.total_seconds == 91
    assert s.suggested == [ids[1], ids[2]]  # lowest score first
    assert [r["score"] for r in s.rows] == [0.9, 0.1, 0.5]
    for t in s.weak_topics:
        scores = [r["score"] for r in s.rows if r["topic"] == t]
        assert sum(scores) / len(scores) < iv.WEAK_BELOW


def test_grade_and_markdown() -> None:
    deck = load_cards()
    card = deck.by_id["encoder-block"]
    cov, hit, missed = iv.grade(card, "Six layers of self-attention and FFN, each with residual and LayerNorm", "en")
    assert hit[:2] == ["self-attention", "feed-forward"] and cov == len(hit) / (len(hit) + len(missed))
    ans = iv.Answer(card.id, "<script>alert(1)</script> | pipe 🙂", 42, False, False, cov, hit, missed, 3)
    s = iv.summarize([ans], {card.id: card})
    md = iv.to_markdown(s, [ans], {card.id: card}, "en", when=datetime(2026, 1, 2, 3, 4))
    assert md.startswith("# Mock interview summary")
    assert "- Date: 2026-01-02 03:04" in md and "| 1 | Describe the Encoder" in md
    assert "> <script>alert(1)</script> | pipe 🙂" in md and "0:42" in md
    zh = iv.to_markdown(s, [ans], {card.id: card}, "zh")
    assert zh.startswith("# 模拟面试小结") and "良好" in zh
