"""The bank loader and `python -m questions validate`: green on the shipped bank, and each kind
of problem caught on temporary bad files with the right file:line."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from questions.bank import load_bank
from questions.schema import TOPICS

ROOT = Path(__file__).resolve().parents[1]


def card(cid: str = "good-card", *, topic: str = "attention", zh_answer: str = "答案 $x$",
         extra: str = "", question_zh: str = "什么是注意力？", related: str = "[]") -> str:
    """One valid card as YAML text (a list item), with knobs to break it."""
    return textwrap.dedent(f"""\
    - id: {cid}
      topic: {topic}
      difficulty: 2
      source: supplement
      question:
        zh: {question_zh}
        en: What is attention?
      answer:
        zh: "{zh_answer}"
        en: "An answer with $y$."
      keywords:
        zh: [[注意力, attention]]
        en: [[attention]]
      related: {related}
    """) + extra


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "questions", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


# ---- the shipped bank -------------------------------------------------------------------------

def test_shipped_bank_is_valid() -> None:
    bank = load_bank(ROOT / "questions")
    problems = [str(p) for p in bank.problems]
    assert not problems, "\n".join(problems)
    assert len(bank.cards) > 0


def test_cli_validate_green_on_shipped_bank() -> None:
    res = run_cli("validate")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("OK: ")
    bank = load_bank(ROOT / "questions")
    assert f"OK: {len(bank.cards)} cards" in res.stdout
    for topic, n in bank.topic_counts().items():  # the per-topic summary
        assert any(line.split()[:2] == [topic, str(n)] for line in res.stdout.splitlines()), topic


# ---- each kind of problem ---------------------------------------------------------------------

def test_good_dir_is_green(tmp_path: Path) -> None:
    write(tmp_path, "attention.yaml", card() + card("other-card", related="[good-card]"))
    bank = load_bank(tmp_path)
    assert bank.problems == []
    assert [c.id for c in bank.cards] == ["good-card", "other-card"]
    assert bank.origins["other-card"].line == 15  # each card's start line
    res = run_cli("validate", "--dir", str(tmp_path))
    assert res.returncode == 0, res.stdout
    assert "attention" in res.stdout and "OK: 2 cards" in res.stdout


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", card())
    # line 3 opens a flow sequence that never closes properly
    write(tmp_path, "broken.yaml", "- id: x\n  topic: attention\n  related: [a, b\n  source: supplement\n")
    bank = load_bank(tmp_path)
    assert [c.id for c in bank.cards] == ["good-card"]  # the valid file still loads
    assert bank.failed_files == ["broken.yaml"]
    (p,) = bank.problems
    assert p.file == "broken.yaml" and p.line in (3, 4, 5) and "YAML syntax error" in p.reason
    res = run_cli("validate", "--dir", str(tmp_path))
    assert res.returncode == 1
    assert f"broken.yaml:{p.line}: YAML syntax error" in res.stdout


def test_missing_field(tmp_path: Path) -> None:
    text = card().replace("  difficulty: 2\n", "")
    write(tmp_path, "a.yaml", "# comment line\n" + text)
    bank = load_bank(tmp_path)
    assert bank.cards == []
    (p,) = bank.problems
    assert (p.file, p.line) == ("a.yaml", 2)
    assert "difficulty" in p.reason and "missing field" in p.reason
    res = run_cli("validate", "--dir", str(tmp_path))
    assert res.returncode == 1 and "a.yaml:2: card 'good-card': difficulty: missing field" in res.stdout


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card("same-id"))
    write(tmp_path, "b.yaml", card("first-in-b") + card("same-id"))
    bank = load_bank(tmp_path)
    assert sorted(c.id for c in bank.cards) == ["first-in-b", "same-id"]
    (p,) = bank.problems
    assert (p.file, p.line) == ("b.yaml", 15)
    assert "duplicate id 'same-id'" in p.reason and "a.yaml:1" in p.reason


def test_unknown_topic_points_at_the_field(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card() + card("bad-topic", topic="astrology"))
    bank = load_bank(tmp_path)
    (p,) = bank.problems
    assert (p.file, p.line) == ("a.yaml", 16)  # the `topic:` line of the second card
    assert "unknown topic 'astrology'" in p.reason


def test_unknown_demo_section_and_param(tmp_path: Path) -> None:
    extra = "  demo: {id: attention, params: {section: nonsense}}\n"
    write(tmp_path, "a.yaml", card(extra=extra) + card("b-card", extra="  demo: {id: nodemo}\n")
          + card("c-card", extra="  demo: {id: attention, params: {zoom: 3}}\n"))
    bank = load_bank(tmp_path)
    reasons = [p.reason for p in bank.problems]
    assert len(reasons) == 3, reasons
    assert "unknown section 'nonsense'" in reasons[0]
    assert "unknown demo id 'nodemo'" in reasons[1]
    assert "unknown param 'zoom'" in reasons[2]
    assert [p.line for p in bank.problems] == [15, 30, 45]  # each `demo:` line


def test_unbalanced_dollar(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(zh_answer="缩放 $\\\\sqrt{d_k} 很重要"))
    bank = load_bank(tmp_path)
    (p,) = bank.problems
    assert (p.file, p.line) == ("a.yaml", 9)  # the answer.zh line
    assert "unbalanced $" in p.reason and "answer.zh" in p.reason


def test_unbalanced_dollar_in_alias(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(extra="  aliases:\n    zh: [好的, '除以 $\\\\sqrt{d_k}']\n"))
    (p,) = load_bank(tmp_path).problems
    assert (p.file, p.line) == ("a.yaml", 16) and "aliases.zh.1" in p.reason and "unbalanced $" in p.reason


def test_empty_language(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(question_zh='""'))
    (p,) = load_bank(tmp_path).problems
    assert (p.file, p.line) == ("a.yaml", 6) and "question.zh" in p.reason and "empty" in p.reason


def test_todo_text_anywhere(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(zh_answer="TODO 写答案"))
    write(tmp_path, "b.yaml", card("kw-todo").replace("[[attention]]", "[[attention, TODO]]"))
    probs = load_bank(tmp_path).problems
    assert [(p.file, p.line) for p in probs] == [("a.yaml", 9), ("b.yaml", 13)]
    assert all("TODO" in p.reason for p in probs)


def test_related_id_missing(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(related="[no-such-card]"))
    bank = load_bank(tmp_path)
    assert [c.id for c in bank.cards] == ["good-card"]  # kept: only the link is broken
    (p,) = bank.problems
    assert (p.file, p.line) == ("a.yaml", 14) and "related id 'no-such-card' does not exist" in p.reason


def test_not_a_list_and_empty_file(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "mapping.yaml", "\n\nid: x\ntopic: attention\n")
    probs = load_bank(tmp_path).problems
    assert [(p.file, p.line) for p in probs] == [("mapping.yaml", 3)]
    assert "list of cards" in probs[0].reason


def test_cli_lists_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", card(topic="nope") + card("x-card", question_zh='""'))
    write(tmp_path, "b.yaml", "- [unclosed\n")
    res = run_cli("validate", "--dir", str(tmp_path))
    assert res.returncode == 1
    lines = [ln for ln in res.stdout.splitlines() if ln.split(":")[0] in ("a.yaml", "b.yaml")]
    assert len(lines) == 3, res.stdout
    assert "3 problem(s) in 2 file(s)" in res.stdout


def test_filters(tmp_path: Path) -> None:
    text = card("a1") + card("a2", topic="masking").replace("difficulty: 2", "difficulty: 3")
    write(tmp_path, "a.yaml", text)
    bank = load_bank(tmp_path)
    assert [c.id for c in bank.filter(topic="masking")] == ["a2"]
    assert [c.id for c in bank.filter(difficulty=2)] == ["a1"]
    assert [c.id for c in bank.filter(topic=["masking", "attention"], difficulty=[2, 3])] == ["a1", "a2"]
    assert bank.filter(source="002_b03c69b24614c308.txt") == []
    assert bank.by_id["a2"].topic == "masking"
    assert bank.topic_counts()["masking"] == 1 and set(bank.topic_counts()) == set(TOPICS)


@pytest.mark.parametrize("env", [True])
def test_env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: bool) -> None:
    write(tmp_path, "a.yaml", card("from-env"))
    monkeypatch.setenv("TIL_QUESTIONS_DIR", str(tmp_path))
    assert [c.id for c in load_bank().cards] == ["from-env"]
