"""zh questions use full-width punctuation next to Chinese text (issue 18: "zh questions mix half-
and full-width punctuation"): every card's zh `question` and `aliases.zh` in questions/*.yaml."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from questions.zh_punct import fix, problems

ROOT = Path(__file__).resolve().parents[1]


def _zh_fields() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "questions").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            continue  # synonyms, variants: not cards
        for card in data:
            out.append((f"{path.name}:{card['id']}", card["question"]["zh"]))
            out += [(f"{path.name}:{card['id']} alias", a) for a in (card.get("aliases") or {}).get("zh") or []]
    return out


def test_bank_has_zh_questions():
    assert len(_zh_fields()) > 100


def test_no_half_width_punctuation_next_to_chinese():
    bad = [(where, text, problems(text)) for where, text in _zh_fields() if problems(text)]
    assert not bad, "\n".join(map(str, bad))


@pytest.mark.parametrize("text, fixed", [
    ("Transformer为什么使用多头注意力机制? 为什么不使用一个头?", "Transformer为什么使用多头注意力机制？为什么不使用一个头？"),
    ("为什么需要scaled (为什么除以dk的平方根) , 并使用公式", "为什么需要scaled（为什么除以dk的平方根），并使用公式"),
    ("简答讲一下BatchNorm技术, 以及它的优缺点。", "简答讲一下BatchNorm技术，以及它的优缺点。"),
    ("为什么 BN 需要 model.eval()？", "为什么 BN 需要 model.eval()？"),
    ("What is d_model? (English)", "What is d_model? (English)"),
    ("lp(Y) 公式", "lp(Y) 公式"),
    ("对形状为 (batch, seq_len, d_model) 的张量", "对形状为 (batch, seq_len, d_model) 的张量"),
])
def test_fix(text, fixed):
    assert fix(text) == fixed
    assert problems(fixed) == []
    assert (problems(text) == []) == (text == fixed)
