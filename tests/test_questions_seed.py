"""Every question of the notes (seed 002) maps to a card: matched against the seed file itself.

The list is every non-empty line between "## Transformer发家史" and the line starting with
"其基本架构如上图所示"; to it we add the questions that appear only in the body of the notes
(headings or lines phrased as questions). Each must equal, after normalisation, some card's
question.zh or one of its aliases.zh.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from questions.bank import load_bank

SEED = "002_b03c69b24614c308.txt"
LIST_START = "## Transformer发家史"
LIST_END = "其基本架构如上图所示"
# Questions in the body of the notes that the list above does not contain (exact seed wording).
BODY_QUESTIONS = (
    "为什么位置嵌入是有用的?",
    "为什么使用 $\\sin$ 和 $\\cos$ ?",
    "Attention 的计算公式中为什么要除以根号 dk?",
    "注：什么是padding？",
    "注：为什么要对padding做mask操作？",
    "为什么 Transformer 用 layernorm 而不 batchnorm?",
    "Transformer 中，encoder和decoder 是怎么进行交互的？",
    "Transformer不适用哪些场景和任务？",
)
_PREFIXES = ("面试:", "注:", "3)")
_TRAILING = "?？.。!！,，、;；:： "


def normalise(text: str) -> str:
    """NFKC, no whitespace, no markdown * and #, no "面试：/注：/3) " prefix, no trailing punctuation."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"\s+", "", s)
    s = s.replace("*", "").replace("#", "")
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if s.startswith(p):
                s, changed = s[len(p):], True
    return s.rstrip(_TRAILING).casefold()


def seed_list(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == LIST_START)
    end = next(i for i, ln in enumerate(lines) if i > start and ln.strip().startswith(LIST_END))
    return [ln.strip() for ln in lines[start + 1:end] if ln.strip()]


def body_questions(text: str) -> list[str]:
    """The BODY_QUESTIONS, each found as a line (heading or plain) of the seed file."""
    lines = {normalise(ln) for ln in text.splitlines() if ln.strip()}
    missing = [q for q in BODY_QUESTIONS if normalise(q) not in lines]
    assert not missing, f"not lines of the seed file: {missing}"
    return list(BODY_QUESTIONS)


@pytest.fixture(scope="module")
def seed_text(seeds_dir: Path) -> str:
    path = seeds_dir / SEED
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path.read_text(encoding="utf-8")


def test_normalise() -> None:
    assert normalise("## **面试：为什么要用带掩码masked？**") == "为什么要用带掩码masked"
    assert normalise("### 3) 为什么位置嵌入是有用的?") == "为什么位置嵌入是有用的"
    assert normalise("Ｔｒａｎｓｆｏｒｍｅｒ 的 优缺点 。") == "transformer的优缺点"


def test_seed_list_is_parsed(seed_text: str) -> None:
    items = seed_list(seed_text)
    assert items[0] == "为什么用三角函数表示位置编码?"
    assert items[-1] == "Transformer的并行化体现在哪个地方？Decoder端可以做并行化吗？"
    assert "Transformer&CNN 感受野" in items
    assert len(items) >= 50


def test_every_notes_question_has_a_card(seed_text: str) -> None:
    bank = load_bank()
    wording: dict[str, str] = {}
    for card in bank.cards:
        for text in [card.question.zh, *card.aliases.zh]:
            wording.setdefault(normalise(text), card.id)
    questions = seed_list(seed_text) + body_questions(seed_text)
    missing = [q for q in dict.fromkeys(questions) if normalise(q) not in wording]
    assert not missing, (f"{len(missing)} of {len(set(questions))} notes questions have no card "
                         "(question.zh or aliases.zh, compared after normalisation):\n  "
                         + "\n  ".join(missing))
