"""The grader's evaluation (issue 19): the hand-written answers of `study/eval/answers.jsonl`
graded by `study.grade` and, side by side, by the old keyword-coverage scorer
(`study.scoring.score_answer`, coverage >= 80 % counted as "good"), plus every card's own
reference answer in both languages (no Streamlit).

Each line of the set: {"card", "kind", "answer", "lang", "expect"} with kind one of good, mixed
(Chinese with English terms), traditional (Traditional characters), paraphrase, shallow, wrong
(false claims in the right vocabulary), keyword_list (the card's keyword badges), disown ("I have
no idea what X, Y mean"); `expect` is the verdict class it deserves.

Rates (targets in `TARGETS`, held by tests/test_grade_eval.py):
  wrong_judged_good            wrong answers judged good                 <= 10 %
  good_judged_good             good + mixed + traditional judged good    >= 80 %
  keyword_list_judged_good     keyword lists and disowning answers good   = 0 %
  reference_judged_good        every rubric card's reference, zh and en   = 100 %
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from study import grade as G
from study import scoring

DEFAULT_FILE = Path(__file__).resolve().parent / "eval" / "answers.jsonl"
GOOD_KINDS = ("good", "mixed", "traditional")
LIST_KINDS = ("keyword_list", "disown")
TARGETS = {"wrong_judged_good": ("<=", 0.10), "good_judged_good": (">=", 0.80),
           "keyword_list_judged_good": ("<=", 0.0), "reference_judged_good": (">=", 1.0)}
KINDS = ("good", "mixed", "traditional", "paraphrase", "shallow", "wrong", "keyword_list", "disown")


def load_set(path: str | Path | None = None) -> list[dict]:
    rows = []
    with open(path or DEFAULT_FILE, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _old_good(card, answer: str, lang: str) -> bool:  # noqa: ANN001 (Card)
    """The old rule: keyword coverage >= 80 % (in the answer's own language: its best case)."""
    return scoring.score_answer(answer, card.keywords.get(lang)).coverage >= scoring.GOOD_AT


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def evaluate(path: str | Path | None = None) -> dict:
    from study.deck import load_cards

    bank = load_cards()
    rows = load_set(path)
    new: dict[str, list[bool]] = defaultdict(list)
    old: dict[str, list[bool]] = defaultdict(list)
    verdicts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses = []
    for r in rows:
        card = bank.by_id.get(r["card"])
        if card is None:
            continue
        v = G.grade(card, r["answer"], "auto")
        lang = G.answer_lang(r["answer"])
        new[r["kind"]].append(v.verdict == "good")
        old[r["kind"]].append(_old_good(card, r["answer"], lang))
        verdicts[r["kind"]][v.verdict] += 1
        bad = (v.verdict == "good") != (r["expect"] == "good") and r["kind"] != "paraphrase"
        if bad:
            misses.append({"card": r["card"], "kind": r["kind"], "verdict": v.verdict, "answer": r["answer"][:160],
                           "missing": v.missing, "misconceptions": [m["id"] for m in v.misconceptions]})
    refs_new, refs_old = [], []
    rubrics = G.compiled_rubrics()
    for card in bank.cards:
        if card.id not in rubrics:
            continue
        for lang in ("zh", "en"):
            refs_new.append(G.grade(card, card.answer.get(lang), lang).verdict == "good")
            refs_old.append(_old_good(card, card.answer.get(lang), lang))

    def rates(d: dict[str, list[bool]], refs: list[bool]) -> dict:
        return {
            "wrong_judged_good": _rate(d["wrong"]),
            "good_judged_good": _rate([x for k in GOOD_KINDS for x in d[k]]),
            "keyword_list_judged_good": _rate([x for k in LIST_KINDS for x in d[k]]),
            "reference_judged_good": _rate(refs),
            "by_kind": {k: _rate(d[k]) for k in KINDS if d[k]},
        }

    wrong_with_mis = 0
    examples = []
    for r in rows:
        if r["kind"] != "wrong" or r["card"] not in bank.by_id:
            continue
        v = G.grade(bank.by_id.get(r["card"]), r["answer"], "auto")
        if v.misconceptions:
            wrong_with_mis += 1
            if len(examples) < 5 or (len(examples) < 8 and G.answer_lang(r["answer"]) == "zh"):
                examples.append({"card": r["card"], "answer": r["answer"], "verdict": v.verdict,
                                 "misconception": v.misconceptions[0]["id"], "message": v.misconceptions[0]["message"]})
    n_wrong = len(new["wrong"])
    return {
        "n": len(rows), "cards": len({r["card"] for r in rows}), "references": len(refs_new),
        "counts": {k: len(new[k]) for k in KINDS if new[k]},
        "new": rates(new, refs_new), "old": rates(old, refs_old),
        "verdicts": {k: dict(v) for k, v in verdicts.items()},
        "wrong_with_misconception": round(wrong_with_mis / n_wrong, 4) if n_wrong else 0.0,
        "targets": {k: f"{op} {val:.0%}" for k, (op, val) in TARGETS.items()},
        "examples": examples, "misses": misses,
    }


def format_table(result: dict, misses: bool = False) -> str:
    lines = [f"{result['n']} answers over {result['cards']} cards; {result['references']} reference answers",
             "", "| rate | old (keyword coverage >= 80 %) | new (rubric grader) | target |", "|---|---|---|---|"]
    for key, target in result["targets"].items():
        lines.append(f"| {key} | {result['old'][key]:.1%} | {result['new'][key]:.1%} | {target} |")
    lines += ["", "| kind (judged good) | n | old | new |", "|---|---|---|---|"]
    for kind, n in result["counts"].items():
        lines.append(f"| {kind} | {n} | {result['old']['by_kind'].get(kind, 0):.1%} | "
                     f"{result['new']['by_kind'].get(kind, 0):.1%} |")
    lines.append(f"\nwrong answers with a detected misconception: {result['wrong_with_misconception']:.1%}")
    if misses:
        lines.append("")
        lines += [f"MISS {m['kind']} {m['card']} -> {m['verdict']} missing={m['missing']} mis={m['misconceptions']}: "
                  f"{m['answer']}" for m in result["misses"]]
    return "\n".join(lines)
