"""Mock interview logic (plain Python): draw questions, score answers, summarise, export Markdown.

Per-question score (0..1) = 0.5 × keyword coverage + 0.5 × self-grade, with the self-grade
mapped Again 0, Hard 0.4, Good 0.8, Easy 1.0 (coverage alone when there is no self-grade).
A topic is *weak* when its mean score is below `WEAK_BELOW`; questions scoring below it are
suggested for flashcard review.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import i18n
from questions.schema import TOPICS, Card
from study import grade as grading
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


# ---- follow-ups (追问), confidence, coding round (issue 17) --------------------------------
# Confidence is asked before the reference answer shows: 1 guessing, 2 unsure, 3 fairly sure,
# 4 sure. "Confident but wrong": confidence >= CONFIDENT (fairly sure or sure) and a self-grade of
# Again or Hard. Such a card is rated Again in the learner's fsrs schedule when the interview
# ends (it comes back in minutes, not days): a confident error is the costly kind in an interview.
CONFIDENCE = (1, 2, 3, 4)
CONFIDENT = 3
WRONG_GRADES = (1, 2)


def confident_but_wrong(confidence: int | None, self_grade: int | None) -> bool:
    return confidence is not None and self_grade is not None and confidence >= CONFIDENT \
        and self_grade in WRONG_GRADES


def followups_due(card: Card, text: str, lang: str) -> list[int]:
    """Indices of the card's follow-ups to ask: those whose trigger keyword groups the answer
    missed at least one of, and those with no trigger (always asked)."""
    out = []
    for i, f in enumerate(card.followups):
        if f.trigger is None or score_answer(text, f.trigger.get(lang)).missed:
            out.append(i)
    return out


@dataclass
class FollowupAnswer:
    index: int                              # into card.followups
    text: str = ""
    seconds: float = 0.0
    confidence: int | None = None
    self_grade: int | None = None

    @property
    def confident_but_wrong(self) -> bool:
        return confident_but_wrong(self.confidence, self.self_grade)


@dataclass
class CodingRound:
    drill_id: str
    code: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    passed: bool | None = None              # None: not submitted
    checks_passed: int = 0
    checks: int = 0


def coding_result(drill_id: str, code: str, seconds: float, timed_out: bool, result: dict) -> CodingRound:
    """The coding round from `drills.sandbox.check`'s result (the learner's code ran only there)."""
    checks = result.get("checks") or []
    return CodingRound(drill_id, code, round(seconds, 1), timed_out, bool(result.get("passed")),
                       sum(1 for c in checks if c.get("passed")), len(checks))


def to_reschedule(answers: Sequence[Answer]) -> list[str]:
    """Question ids to rate Again in fsrs after the interview: confident but wrong on the card
    or on one of its follow-ups."""
    return [a.question_id for a in answers
            if a.confident_but_wrong or any(f.confident_but_wrong for f in a.followups)]


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
    confidence: int | None = None          # 1..4, given BEFORE the reveal (CONFIDENCE)
    followups: list[FollowupAnswer] = field(default_factory=list)
    # issue 19: the rubric grader's suggestion and the learner's confirmation
    verdict: str | None = None                                  # good | partial | poor | unsure (None: no rubric)
    rubric: list[dict] = field(default_factory=list)            # [{"id", "text"}] of the card's key points
    suggested: list[str] = field(default_factory=list)          # point ids the grader found
    misconceptions: list[dict] = field(default_factory=list)    # [{"id", "claim", "message"}] detected
    confirmed: list[str] | None = None                          # point ids the learner ticked

    @property
    def point_share(self) -> float:
        """The share of rubric points the learner confirmed (keyword coverage when no rubric/confirmation)."""
        if self.rubric and self.confirmed is not None:
            return len(set(self.confirmed)) / len(self.rubric)
        return self.coverage

    @property
    def confident_but_wrong(self) -> bool:
        return confident_but_wrong(self.confidence, self.self_grade)

    @property
    def score(self) -> float:
        if self.self_grade is None:
            return self.point_share
        return 0.5 * self.point_share + 0.5 * GRADE_VALUE[self.self_grade]

    def apply_suggestion(self, v: grading.Verdict) -> None:
        """Store the grader's suggestion (the learner confirms later)."""
        if not v.has_rubric:
            return
        self.verdict = v.verdict
        self.rubric = [{"id": p["id"], "text": p["text"]} for p in v.points]
        self.suggested = v.hit_ids
        self.misconceptions = [dict(m) for m in v.misconceptions]


def suggest(card: Card, text: str, lang: str) -> grading.Verdict:
    """The rubric grader's suggestion (study/grade.py), the same function as the flashcards."""
    return grading.grade(card, text, lang)


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
    confident_wrong: list[str] = field(default_factory=list)
    coding: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(answers: Sequence[Answer], cards: dict[str, Card], coding: CodingRound | None = None) -> Summary:
    rows = []
    per_topic: dict[str, list[float]] = defaultdict(list)
    for i, a in enumerate(answers, start=1):
        card = cards.get(a.question_id)
        topic = card.topic if card else "?"
        per_topic[topic].append(a.score)
        rows.append({"n": i, "question_id": a.question_id, "topic": topic, "score": round(a.score, 3),
                     "coverage": round(a.coverage, 3), "self_grade": a.self_grade,
                     "seconds": round(a.seconds, 1), "timed_out": a.timed_out, "confidence": a.confidence,
                     "confident_wrong": a.confident_but_wrong, "verdict": a.verdict,
                     "points": [len(set(a.confirmed if a.confirmed is not None else a.suggested)), len(a.rubric)],
                     "misconceptions": [m["id"] for m in a.misconceptions],
                     "followups": [asdict(f) | {"confident_wrong": f.confident_but_wrong} for f in a.followups]})
    weak = sorted((t for t, v in per_topic.items() if sum(v) / len(v) < WEAK_BELOW),
                  key=lambda t: sum(per_topic[t]) / len(per_topic[t]))
    suggested = [a.question_id for a in sorted(answers, key=lambda a: a.score) if a.score < WEAK_BELOW]
    mean = sum(a.score for a in answers) / len(answers) if answers else 0.0
    return Summary(rows, round(mean, 3), round(sum(a.seconds for a in answers), 1), weak, suggested,
                   to_reschedule(answers), asdict(coding) if coding else None)


def _topic_name(topic: str, lang: str) -> str:
    names = TOPICS.get(topic)
    return names[0 if lang == "zh" else 1] if names else topic


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in (text.strip() or "—").splitlines())


def _rubric_lines(a: Answer, lang: str) -> list[str]:
    """The rubric with the points the learner confirmed, and the misconceptions detected (issue 19)."""
    if not a.rubric:
        return []
    mine = set(a.confirmed if a.confirmed is not None else a.suggested)
    out = ["", f"**{i18n.t('interview.md_rubric', lang)}** ({i18n.t(f'flashcards.verdict_{a.verdict}', lang)})", ""]
    out += [f"- [{'x' if p['id'] in mine else ' '}] {p['text']}" for p in a.rubric]
    for m in a.misconceptions:
        out.append(f"- {i18n.t('interview.md_misconception', lang)}: {m['claim']} — {m['message']}")
    return out


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
    flagged = _flagged_lines(summary, answers, cards, lang)
    if flagged:
        out += ["", f"## {L('conf_wrong')}", "", *flagged]
    out += ["", f"## {L('sugg')}", ""]
    out += [f"- `{qid}` {cards[qid].question.get(lang) if qid in cards else ''}" for qid in summary.suggested] \
        or [f"- {L('none')}"]
    for i, a in enumerate(answers, start=1):
        card = cards.get(a.question_id)
        if card is None:
            continue
        out += ["", f"## {i}. {card.question.get(lang)}", "", f"**{L('answer')}**", "", _quote(a.text), "",
                f"{L('hit')}: {', '.join(a.hit) or L('none')}  ", f"{L('missed')}: {', '.join(a.missed) or L('none')}",
                *_rubric_lines(a, lang), "", f"**{L('ref')}**", "", card.answer.get(lang).strip()]
        if a.confidence is not None:
            out += ["", f"{L('confidence')}: {i18n.t(f'interview.conf_{a.confidence}', lang)}"
                    + (f" — **{L('conf_wrong')}**" if a.confident_but_wrong else "")]
        out += _followup_lines(a, card, lang, grades)
    if summary.coding:
        out += _coding_lines(summary.coding, lang)
    return "\n".join(out) + "\n"


def _flagged_lines(summary: Summary, answers: Sequence[Answer], cards: dict[str, Card], lang: str) -> list[str]:
    lines = []
    for a in answers:
        card = cards.get(a.question_id)
        if card is None or a.question_id not in summary.confident_wrong:
            continue
        lines.append(f"- `{a.question_id}` {card.question.get(lang)}")
        for f in a.followups:
            if f.confident_but_wrong and f.index < len(card.followups):
                lines.append(f"  - {i18n.t('interview.md_followup', lang)}: {card.followups[f.index].question.get(lang)}")
    if lines:
        lines.append("")
        lines.append(i18n.t("interview.md_conf_wrong_note", lang))
    return lines


def _followup_lines(a: Answer, card: Card, lang: str, grades: dict[int, str]) -> list[str]:
    out: list[str] = []
    for n, f in enumerate(a.followups, start=1):
        if f.index >= len(card.followups):
            continue
        fu = card.followups[f.index]
        conf = i18n.t(f"interview.conf_{f.confidence}", lang) if f.confidence else "—"
        out += ["", f"### {i18n.t('interview.md_followup', lang)} {n}: {fu.question.get(lang)}", "",
                f"**{i18n.t('interview.md_answer', lang)}**", "", _quote(f.text), "",
                f"{i18n.t('interview.md_confidence', lang)}: {conf} · {i18n.t('interview.md_grade', lang)}: "
                f"{grades.get(f.self_grade, '—')}" + (f" — **{i18n.t('interview.md_conf_wrong', lang)}**"
                                                      if f.confident_but_wrong else ""),
                "", f"**{i18n.t('interview.md_ref', lang)}**", "", fu.answer.get(lang).strip()]
    return out


def _coding_lines(coding: dict, lang: str) -> list[str]:
    def L(key: str) -> str:
        return i18n.t(f"interview.md_{key}", lang)

    code = coding.get("code") or ""
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", code)), default=0))  # never closed by the code
    status = L("not_submitted") if coding.get("passed") is None else (L("passed") if coding["passed"] else L("failed"))
    lines = ["", f"## {L('coding')}: `{coding['drill_id']}`", "",
             f"- {L('result')}: {status} ({coding.get('checks_passed', 0)}/{coding.get('checks', 0)})",
             f"- {L('time')}: {_fmt_seconds(coding.get('seconds', 0))}" + (L("timeout") if coding.get("timed_out") else ""),
             "", f"{fence}python", code, fence]
    return lines
