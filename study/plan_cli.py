"""`python -m study plan`: a learner's plan to an interview date (study/plan.py), as JSON or text.

    python -m study plan --learner NAME --interview-date YYYY-MM-DD [--retention R] [--max-per-day N]
                         [--today YYYY-MM-DD] [--topics t1,t2] [--json] [--db DB]

Defaults: the learner's saved desired retention and fsrs parameters (study/personal.py), their
saved plan's cap and topics, else 40 cards a day and every card; --today defaults to the UTC date.
"""
from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from typing import TextIO

from questions.schema import TOPICS
from study import personal
from study import plan as planner
from study.deck import load_cards, with_imported
from study.store import Profile, ProgressStore


class Refused(Exception):
    """Bad input the parser cannot catch (a date, a retention): one line, exit 1."""


def plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--learner", required=True)
    p.add_argument("--interview-date", required=True, help="YYYY-MM-DD")
    p.add_argument("--retention", type=float, default=None,
                   help=f"desired retention {personal.RETENTION_MIN}-{personal.RETENTION_MAX} (default: the learner's)")
    p.add_argument("--max-per-day", type=int, default=None, help="daily cap on cards, new + reviews")
    p.add_argument("--today", default=None, help="first study day, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--topics", default=None, help="comma-separated topic ids (default: all)")
    p.add_argument("--json", action="store_true")


def _date(text: str, flag: str):
    try:
        return planner.parse_date(text)
    except ValueError:
        raise Refused(f"{flag} {text!r} is not a date YYYY-MM-DD") from None


def compute(store: ProgressStore, me: Profile, args: argparse.Namespace) -> planner.Plan:
    interview = _date(args.interview_date, "--interview-date")
    today = _date(args.today, "--today") if args.today else datetime.now(UTC).date()
    memory = personal.load(store, me.id)
    saved = store.get_setting(me.id, planner.KEY_PLAN) or {}
    retention = memory.desired_retention if args.retention is None else args.retention
    if not (math.isfinite(retention) and personal.RETENTION_MIN <= retention <= personal.RETENTION_MAX):
        raise Refused(f"--retention {retention} is outside {personal.RETENTION_MIN}-{personal.RETENTION_MAX}")
    cap = args.max_per_day if args.max_per_day is not None else int(saved.get("max_per_day", planner.DEFAULT_MAX_PER_DAY))
    if not 1 <= cap <= 1000:
        raise Refused(f"--max-per-day {cap} is outside 1-1000")
    topics = [t for t in (args.topics.split(",") if args.topics else saved.get("topics", [])) if t]
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise Refused(f"unknown topic(s) {', '.join(unknown)} (known: {', '.join(TOPICS)})")
    deck = with_imported(load_cards(), store.imported_cards(me.id))
    cards = [c for c in deck.cards if not topics or c.topic in topics]
    return planner.build([c.id for c in cards], {c.id: c.topic for c in cards}, store.card_states(me.id), today,
                         interview, parameters=memory.parameters, retention=retention, max_per_day=cap)


def plan_cmd(store: ProgressStore, me: Profile, args: argparse.Namespace, out: TextIO) -> int:
    result = compute(store, me, args)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False), file=out)
        return 0
    print(f"{me.name}: {result.cards} card(s), {result.days_left} study day(s); predicted recall on the date "
          f"{100 * result.predicted_recall_on_date:.1f}%", file=out)
    for d in result.days:
        print(f"  {d.date.isoformat()}  new {d.new:3d}  reviews {d.reviews:3d}", file=out)
    if result.warning:
        print(f"warning: {result.warning_text()}", file=out)
    return 0
