"""Mock interview logic (plain Python): draw questions, score answers, summarise, export Markdown.

Per-question score (0..1) = 0.5 × keyword coverage + 0.5 × self-grade, with the self-grade
mapped Again 0, Hard 0.4, Good 0.8, Easy 1.0 (coverage alone when there is no self-grade).
A topic is *weak* when its mean score is below `WEAK_BELOW`; questions scoring below it are
suggested for flashcard review.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import i18n
from questions.schema import TOPICS, Card
from study.scoring import score_answer

GRADE_VALUE = {1: 0.0, 2: 0.4, 3: 0.8, 4: 1.0}
WEAK_BELOW = 0.6
DEFAULT_SECONDS = 180


def draw(cards: Sequence[Card], n: int, topics: Sequence[str] = (), difficulties: Sequence[int] = (),
         seed: int | None = None) -> list[str]:
    """Up to n question ids drawn at random from the cards matching the topics and difficulties
    (empty filters = all), spread across topics round-robin so one topic does not dominate."""
    pool = [c for c in cards if (not topics or c.topic in topics)
            and (not difficulties or c.difficulty in difficulties)]
    rng = random.Random(seed)
    by_topic: dict[str, list[str]] = defaultdict(list)
    for c in pool:
        by_topic[c.topic].append(c.id)
    for ids in by_topic.values():
        rng.shuffle(ids)
    order = list(by_topic)
    rng.shuffle(order)
    out: list[str] = []
    while len(out) < n and any(by_topic.values()):
        for t in order:
            if by_topic[t] and len(out) < n:
                out.append(by_topic[t].pop())
    return out


@dataclass
class Answer:
    question_id: str
    text: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    has_audio: bool = False
    coverage: float = 0.0
    hit: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    self_grade: int | None = None

    @property
    def score(self) -> float:
        if self.self_grade is None:
            return self.coverage
        return 0.5 * self.coverage + 0.5 * GRADE_VALUE[self.self_grade]


def grade(card: Card, text: str, lang: str) -> tuple[float, list[str], list[str]]:
    """Keyword coverage of a typed answer, with the first phrasing of each hit / missed group."""
    s = score_answer(text, card.keywords.get(lang))
    return s.coverage, [g[0] for g in s.hit], [g[0] for g in s.missed]


@dataclass
class Summary:
    rows: list[dict]
    mean_score: float
    total_seconds: float
    weak_topics: list[str]
    suggested: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(answers: Sequence[Answer], cards: dict[str, Card]) -> Summary:
    rows = []
    per_topic: dict[str, list[float]] = defaultdict(list)
    for i, a in enumerate(answers, start=1):
        card = cards.get(a.question_id)
        topic = card.topic if card else "?"
        per_topic[topic].append(a.score)
        rows.append({"n": i, "question_id": a.question_id, "topic": topic, "score": round(a.score, 3),
                     "coverage": round(a.coverage, 3), "self_grade": a.self_grade,
                     "seconds": round(a.seconds, 1), "timed_out": a.timed_out})
    weak = sorted((t for t, v in per_topic.items() if sum(v) / len(v) < WEAK_BELOW),
                  key=lambda t: sum(per_topic[t]) / len(per_topic[t]))
    suggested = [a.question_id for a in sorted(answers, key=lambda a: a.score) if a.score < WEAK_BELOW]
    mean = sum(a.score for a in answers) / len(answers) if answers else 0.0
    return Summary(rows, round(mean, 3), round(sum(a.seconds for a in answers), 1), weak, suggested)


def _topic_name(topic: str, lang: str) -> str:
    names = TOPICS.get(topic)
    return names[0 if lang == "zh" else 1] if names else topic


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in (text.strip() or "—").splitlines())


def to_markdown(summary: Summary, answers: Sequence[Answer], cards: dict[str, Card], lang: str,
                when: datetime | None = None) -> str:
    """The summary as a Markdown document (questions, my answers, reference answers)."""
    def L(key: str) -> str:
        return i18n.t(f"interview.md_{key}", lang)

    grades = {r: i18n.t(f"flashcards.rate_{n}", lang) for r, n in ((1, "again"), (2, "hard"), (3, "good"), (4, "easy"))}
    out = [f"# {L('title')}", ""]
    if when is not None:
        out.append(f"- {L('date')}: {when.strftime('%Y-%m-%d %H:%M')}")
    out += [f"- {L('mean')}: {round(100 * summary.mean_score)}%",
            f"- {L('time')}: {_fmt_seconds(summary.total_seconds)}",
            f"- {L('weak')}: {', '.join(_topic_name(t, lang) for t in summary.weak_topics) or L('none')}",
            "", f"| # | {L('q')} | {L('score')} | {L('cov')} | {L('grade')} | {L('secs')} |",
            "|---|---|---|---|---|---|"]
    for row in summary.rows:
        card = cards.get(row["question_id"])
        q = card.question.get(lang) if card else row["question_id"]
        q = q.replace("|", "\\|").replace("\n", " ")
        g = grades.get(row["self_grade"], "—")
        timeout = L("timeout") if row["timed_out"] else ""
        out.append(f"| {row['n']} | {q} | {round(100 * row['score'])}% | {round(100 * row['coverage'])}% | {g} "
                   f"| {_fmt_seconds(row['seconds'])}{timeout} |")
    out += ["", f"## {L('sugg')}", ""]
    out += [f"- `{qid}` {cards[qid].question.get(lang) if qid in cards else ''}" for qid in summary.suggested] \
        or [f"- {L('none')}"]
    for i, a in enumerate(answers, start=1):
        card = cards.get(a.question_id)
        if card is None:
            continue
        out += ["", f"## {i}. {card.question.get(lang)}", "", f"**{L('answer')}**", "", _quote(a.text), "",
                f"{L('hit')}: {', '.join(a.hit) or L('none')}  ", f"{L('missed')}: {', '.join(a.missed) or L('none')}",
                "", f"**{L('ref')}**", "", card.answer.get(lang).strip()]
    return "\n".join(out) + "\n"
