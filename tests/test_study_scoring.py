"""Answer self-check: keyword groups, normalisation, fuzzy matching, suggested rating."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from study.scoring import AGAIN, GOOD, HARD, normalize, score_answer

GROUPS = [["self-attention", "multi-head attention"], ["feed-forward", "FFN"], ["residual", "skip connection"],
          ["LayerNorm", "LN"], ["positional encoding"]]


def test_all_groups_hit_suggests_good() -> None:
    s = score_answer("Each layer: multi-head attention, then an FFN; residual + LayerNorm; add positional encoding.",
                     GROUPS)
    assert s.coverage == 1.0 and s.missed == [] and s.suggested_rating == GOOD
    assert s.matched == ["multi-head attention", "FFN", "residual", "LayerNorm", "positional encoding"]


def test_thresholds() -> None:
    four = score_answer("self-attention, FFN, skip connection, LN", GROUPS)
    assert four.coverage == 0.8 and four.suggested_rating == GOOD          # 80% is enough
    three = score_answer("self-attention, FFN, skip connection", GROUPS)
    assert three.coverage == 0.6 and three.suggested_rating == HARD
    assert [g[0] for g in three.missed] == ["LayerNorm", "positional encoding"]
    two = score_answer("self-attention and FFN", GROUPS)
    assert two.coverage == 0.4 and two.suggested_rating == AGAIN
    assert score_answer("", GROUPS).coverage == 0 and score_answer("", GROUPS).suggested_rating == AGAIN
    assert score_answer("anything", []).coverage == 0


def test_normalisation_nfkc_casefold() -> None:
    assert normalize("ＬａｙｅｒＮｏｒｍ  Self_Attention") == "layernorm self attention"
    s = score_answer("ＬＡＹＥＲＮＯＲＭ and SELF ATTENTION", GROUPS)
    assert ["LayerNorm", "LN"] in s.hit and ["self-attention", "multi-head attention"] in s.hit


def test_fuzzy_typos_but_not_short_words() -> None:
    s = score_answer("we use layernrom after the residul connection", GROUPS)
    assert ["LayerNorm", "LN"] in s.hit and ["residual", "skip connection"] in s.hit
    # a 2-letter abbreviation must stand alone: "learning" or "ln(x)"-free text does not hit LN
    assert ["LayerNorm", "LN"] in score_answer("apply ln before attention", GROUPS).hit
    assert ["LayerNorm", "LN"] in score_answer("kiln", GROUPS).missed
    assert ["feed-forward", "FFN"] in score_answer("buffnet", GROUPS).missed


def test_chinese_groups() -> None:
    groups = [["多头自注意力", "自注意力"], ["残差", "residual"], ["层归一化", "LayerNorm"]]
    s = score_answer("每层先做自注意力，再加残差连接。", groups)
    assert s.coverage == 2 / 3 and s.suggested_rating == HARD
    assert [g[0] for g in s.missed] == ["层归一化"]


def test_bad_input_is_just_text() -> None:
    s = score_answer("<script>alert('residual')</script> 🙂" + "x" * 10_000, GROUPS)
    assert ["residual", "skip connection"] in s.hit and s.coverage == 0.2


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_scores_between_0_and_1(text: str) -> None:
    s = score_answer(text, GROUPS)
    assert 0.0 <= s.coverage <= 1.0
    assert len(s.hit) + len(s.missed) == len(GROUPS)
    assert s.suggested_rating in (AGAIN, HARD, GOOD)
