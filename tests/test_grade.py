"""The rubric grader (study/grade.py, issue 19): negation, normalisation, keyword lists,
disowning, misconceptions, the CLI and the rubric loader's checks."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from questions.rubric import Rubric, check_rubrics, read_rubrics
from study import grade as G
from study.deck import load_cards

ROOT = Path(__file__).resolve().parents[1]
DECK = load_cards()


def verdict(card_id: str, text: str) -> G.Verdict:
    return G.grade(DECK.by_id[card_id], text)


def hits(card_id: str, text: str) -> set[str]:
    return set(verdict(card_id, text).hit_ids)


@pytest.mark.parametrize("text", ["PE is not added to the embedding.", "位置编码并不是加到词嵌入上的。",
                                  "Nothing is added to the embedding, it is concatenated."])
def test_negation_does_not_make_the_point(text: str) -> None:
    assert "added-to-embedding" not in hits("why-positional-encoding", text)


def test_the_same_claim_said_positively_makes_the_point() -> None:
    assert "added-to-embedding" in hits("why-positional-encoding", "The encoding is added to the word embedding.")
    assert "added-to-embedding" in hits("why-positional-encoding", "位置编码加到词嵌入上。")


def test_a_negative_claim_written_into_the_pattern_is_made_by_a_negative_sentence() -> None:
    # "has no notion of order" is the point itself: the negation is part of the claim
    assert "order-blind" in hits("why-positional-encoding", "Self-attention has no notion of order.")
    assert "order-blind" in hits("why-positional-encoding", "自注意力本身不知道顺序。")


def test_rather_than_flips_only_what_follows() -> None:
    v = verdict("why-layernorm-not-batchnorm", "LayerNorm normalises each token's own features rather than the batch.")
    assert "ln-per-token" in v.hit_ids and not v.misconceptions


def test_misconception_caps_at_poor_and_carries_its_correction() -> None:
    v = verdict("why-layernorm-not-batchnorm",
                "LayerNorm normalises over the batch dimension, while BatchNorm normalises each token.")
    assert v.verdict == "poor"
    assert [m["id"] for m in v.misconceptions] == ["ln-over-batch"]
    assert "LayerNorm" in v.misconceptions[0]["message"]
    zh = verdict("why-scale-by-sqrt-dk", "因为 q·k 的方差为1，所以除以 d_k 而不是根号 d_k 也完全可以")
    assert zh.verdict == "poor" and zh.misconceptions[0]["id"] == "divide-by-dk"
    assert "√d_k" in zh.misconceptions[0]["message"]  # the message follows the answer's language


def test_a_correct_contrast_does_not_trigger_the_misconception() -> None:
    v = verdict("why-layernorm-not-batchnorm",
                "LayerNorm normalizes each token on its own and BatchNorm normalizes each feature over the batch.")
    assert not v.misconceptions


@pytest.mark.parametrize("raw,norm", [
    ("Var(q·k) = d_k", "var q·k=dk"), ("√d_k", "sqrt dk"), ("QKᵀ", "qkt"), ("−∞", "-inf"),
    ("ｄ＿ｋ", "dk"), ("方差为 1", "方差为1"), ("層歸一化", "层归一化"), ("j > i", "j>i"), ("n − m", "n-m"),
    ("x²", "x2"), (r"$QK^\top/\sqrt{d_k}$", "qkt/sqrt dk"), ("it isn't", "it is not"), ("normalises", "normalizes"),
])
def test_normalisation(raw: str, norm: str) -> None:
    assert G.normalize(raw) == norm


def test_traditional_chinese_and_full_width_are_graded_like_simplified() -> None:
    simp = "如果 q、k 的分量独立且方差为 1，点积的方差就是 d_k，维度越大点积越大。softmax 会饱和成接近 one-hot，梯度接近 0。除以 √d_k 让方差回到 1。"
    trad = "如果 q、k 的分量獨立且方差為 1，點積的方差就是 d_k，維度越大點積越大。softmax 會飽和成接近 one-hot，梯度接近 0。除以 √d_k 讓方差回到 1。"
    assert verdict("why-scale-by-sqrt-dk", simp).verdict == "good"
    assert verdict("why-scale-by-sqrt-dk", trad).verdict == "good"


def test_english_inflections_and_a_chinese_typo_are_tolerated() -> None:
    assert "softmax-saturates" in hits("why-scale-by-sqrt-dk", "the softmax gets saturated")
    assert "gradient-vanishes" in hits("why-scale-by-sqrt-dk", "so the gradients are vanishing")
    typo = G.compile_pattern("梯度消失")
    assert G.pattern_in_clause(typo, G.normalize("导致梯度消逝"))                 # 失 -> 逝: one wrong character
    assert not G.pattern_in_clause(G.compile_pattern("上三角矩阵"), G.normalize("下三角矩阵"))  # not an antonym
    p = G.compile_pattern("stable")
    assert not G.pattern_in_clause(p, G.normalize("it is unstable"))               # never inside a word
    assert not G.pattern_in_clause(G.compile_pattern("exact"), G.normalize("it is inexact"))


def test_both_languages_patterns_are_checked_whatever_the_ui_language() -> None:
    zh_answer = "如果 q、k 的分量独立且方差为 1，点积的方差就是 d_k。softmax 会饱和成 one-hot，梯度接近 0。除以 √d_k 让方差回到 1。"
    assert G.grade(DECK.by_id["why-scale-by-sqrt-dk"], zh_answer, "en").verdict == "good"


@pytest.mark.parametrize("card_id", ["why-scale-by-sqrt-dk", "why-layernorm-not-batchnorm", "rope", "why-multi-head"])
def test_keyword_lists_never_pass(card_id: str) -> None:
    card = DECK.by_id[card_id]
    for lang in ("zh", "en"):
        badges = [g[0] for g in card.keywords.get(lang)]
        for sep in (", ", "、", " ", "\n", " and "):
            v = G.grade(card, sep.join(badges))
            assert v.verdict != "good", (lang, sep)
    assert verdict(card_id, "I have no idea what " + ", ".join(g[0] for g in card.keywords.en) + " mean.").verdict == "poor"
    assert verdict(card_id, "我不知道" + "、".join(g[0] for g in card.keywords.zh) + "是什么。").verdict == "poor"


def test_unsure_for_a_long_answer_in_its_own_words() -> None:
    text = ("Think of a thermostat that reacts too violently: when the numbers feeding the exponential get huge, "
            "one option swallows all the probability mass and the learning signal for every other option dries up, "
            "so people shrink those numbers to keep the competition between options lively during training.")
    assert verdict("why-scale-by-sqrt-dk", text).verdict == "unsure"


def test_partial_lists_what_is_missing_and_empty_is_poor() -> None:
    v = verdict("why-scale-by-sqrt-dk", "The softmax saturates.")
    assert v.verdict == "partial" and "sqrt-restores-unit-variance" in v.missing and "softmax-saturates" in v.hit_ids
    assert verdict("why-scale-by-sqrt-dk", "   ").verdict == "poor"


def test_card_without_rubric_is_unsure() -> None:
    v = G.grade_with(None, "anything")
    assert v.verdict == "unsure" and not v.has_rubric


def test_confirmed_rating() -> None:
    assert G.confirmed_rating(4, 4) == G.GOOD
    assert G.confirmed_rating(4, 4, easy=True) == G.EASY
    assert G.confirmed_rating(4, 4, misconception=True) == G.HARD
    assert G.confirmed_rating(4, 2) == G.HARD
    assert G.confirmed_rating(4, 1) == G.AGAIN


def test_cli_single_and_batch(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("LayerNorm normalises over the batch dimension, BatchNorm normalises each token.", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "study", "grade", "--card", "why-layernorm-not-batchnorm",
                          "--answer-file", str(f), "--json"], capture_output=True, text=True, cwd=ROOT, check=True)
    out = json.loads(run.stdout)
    assert out["verdict"] == "poor" and out["misconceptions"][0]["id"] == "ln-over-batch"
    assert set(out) == {"verdict", "points", "misconceptions"} and {"id", "hit"} == set(out["points"][0])
    batch = tmp_path / "b.jsonl"
    lines = [{"card": "rope", "answer": "RoPE rotates q and k by position-dependent angles in pairs with 10000 base, "
              "so the score depends only on the relative position n-m.", "lang": "en"},
             {"card": "why-scale-by-sqrt-dk", "answer": "sqrt(d_k), variance, softmax, gradient", "lang": "en"}]
    batch.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "study", "grade", "--batch", str(batch), "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    got = [json.loads(x) for x in run.stdout.splitlines()]
    assert [g["verdict"] for g in got] == ["good", "poor"]
    bad = subprocess.run([sys.executable, "-m", "study", "grade", "--card", "no-such-card", "--answer-file", str(f)],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "unknown card id" in bad.stderr and "Traceback" not in bad.stderr


def test_rubric_loader_reports_file_and_line(tmp_path: Path) -> None:
    d = tmp_path / "rubrics"
    d.mkdir()
    (d / "attention.yaml").write_text(
        "- card: no-such-card\n  points:\n    - id: a\n      text: {zh: 甲, en: A}\n      match: {zh: ['x'], en: ['y']}\n"
        "- card: rope\n  points:\n    - id: a\n      text: {zh: 甲, en: A}\n      match: {zh: ['x +  + y']}\n"
        "- card: alibi\n  points:\n    - id: a\n      text: {zh: 甲, en: A}\n      match: {en: ['x']}\n"
        "    - id: a\n      text: {zh: 乙, en: B}\n      match: {en: ['y']}\n", encoding="utf-8")
    rs = check_rubrics(DECK_BANK, d)
    text = "\n".join(str(p) for p in rs.problems if not p.warning)
    assert "rubrics/attention.yaml:1: rubric for an unknown card id 'no-such-card'" in text
    assert "rubrics/attention.yaml:10:" in text and "empty term" in text
    assert "duplicate point/misconception id 'a'" in text
    assert any(p.warning for p in rs.problems)  # cards without a rubric, while topic files are missing


def test_shipped_rubrics_load_clean() -> None:
    rs = check_rubrics(DECK_BANK)
    assert not [p for p in rs.problems if not p.warning], [str(p) for p in rs.problems][:5]
    mine = [cid for cid, topic in rs.topics.items()
            if topic in ("attention", "normalization_residual", "positional_encoding")]
    assert len(mine) == 55
    assert all(isinstance(r, Rubric) for r in read_rubrics().rubrics.values())


from questions.bank import load_bank  # noqa: E402

DECK_BANK = load_bank()
