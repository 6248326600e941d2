"""Masks demo: the claims the page makes, checked on real numbers from our model."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from demos import masks as M
from questions.schema import DEMO_SECTIONS
from tests.apptest import open_page


@pytest.fixture(scope="module")
def batch() -> M.Batch:
    return M.parse_batch(M.DEFAULT_SENTENCES)


# ---- parsing ------------------------------------------------------------------------------------

def test_default_batch_mixes_languages_and_lengths(batch):
    assert batch.lengths == [8, 5, 5, 3]
    assert batch.tokens[0][0] == "我" and batch.tokens[1][0] == "Attention"
    assert batch.ids.shape == (4, 8)
    assert (batch.ids[3, 3:] == 0).all() and (batch.ids[3, :3] != 0).all()


@pytest.mark.parametrize("text", ["", "   \n\n  \t"])
def test_empty_input_raises_batch_error(text):
    with pytest.raises(M.BatchError) as e:
        M.parse_batch(text)
    assert e.value.code == "empty"


def test_long_input_is_cut_with_notes():
    b = M.parse_batch("\n".join(["a b c d e f g h i j k l m n o p q r s"] * 10))
    assert len(b.tokens) == M.MAX_SENTENCES and all(n == M.MAX_TOKENS for n in b.lengths)
    assert set(b.notes) == {"too_many_lines", "too_many_tokens"}
    b = M.parse_batch("x" * 10_000)
    assert "too_long" in b.notes and b.ids.shape == (1, 1)


def test_real_positions_and_default_rows(batch):
    real = batch.real()
    assert real.shape == (4, 8) and real.sum(1).tolist() == [8, 5, 5, 3]
    assert batch.default_row(longest=True) == 0 and batch.default_row(longest=False) == 3
    one = M.parse_batch("a b")
    assert one.default_row(longest=True) == one.default_row(longest=False) == 0


# ---- masks, shapes, exact zeros ---------------------------------------------------------------------

def test_broadcast_shapes(batch):
    m = M.masks(batch.ids)
    assert tuple(m["padding"].shape) == (4, 1, 1, 8)
    assert tuple(m["causal"].shape) == (1, 1, 8, 8)
    assert tuple(m["combined"].shape) == (4, 1, 8, 8)
    names = {n: (shp, sym) for n, shp, sym in M.shapes(batch.ids, 4)}
    assert names["combined"] == ((4, 1, 8, 8), ("B", "1", "T", "T"))
    assert names["scores"] == ((4, 4, 8, 8), ("B", "h", "T", "T"))
    # combined = padding AND causal, element by element
    expect = np.array([[j <= i and j < 3 for j in range(8)] for i in range(8)])
    assert (m["combined"][3, 0].numpy() == expect).all()


def test_mask_grids_of_one_sentence(batch):
    g = M.mask_grids(batch.ids, 3)                               # 3 real tokens, 5 pads
    assert {k: v.shape for k, v in g.items()} == {"padding": (8, 8), "causal": (8, 8), "combined": (8, 8)}
    assert (g["padding"] == np.array([[j < 3 for j in range(8)]] * 8)).all()   # same row for every query
    assert (g["causal"] == np.tril(np.ones((8, 8), dtype=bool))).all()
    assert (g["combined"] == (g["padding"] & g["causal"])).all() and g["combined"].sum() == 1 + 2 + 3 + 5 * 3
    full, causal = M.attention_grids(3)
    assert full.dtype == bool and full.all() and causal.tolist() == [[True, False, False], [True, True, False],
                                                                     [True, True, True]]


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_masked_weights_exactly_zero_rows_sum_to_one(batch, kind):
    tr = M.run(batch.ids)
    for row in range(4):
        for head in range(4):
            v = M.attn_view(tr, kind, row, head)
            assert np.isneginf(v.masked[~v.mask]).all()
            assert np.isfinite(v.masked[v.mask]).all()
            assert (v.weights[~v.mask] == 0.0).all()          # exactly, not approximately
            assert np.allclose(v.weights.sum(-1), 1.0, atol=1e-6)
            if (~v.mask).any():
                assert (v.scaled[~v.mask] != 0).any()          # there were real scores to hide
    v = M.attn_view(tr, "decoder", 0, 0)
    assert np.triu(v.weights, 1).max() == 0.0                  # nothing above the diagonal


# ---- keys vs queries ----------------------------------------------------------------------------------

def test_key_masking_makes_real_outputs_independent_of_pads(batch):
    r = M.key_vs_query(batch.ids, "keys")
    real = (batch.ids != 0).numpy()
    assert r.mask_shape == (4, 1, 1, 8)
    assert np.nanmax(r.delta_real) == 0.0                      # bit-for-bit identical real outputs
    assert np.allclose(r.out[real], r.out_other[real], atol=0)
    assert (r.pad_weight[real] == 0.0).all()
    assert M.key_query_metrics(r, real) == (0.0, 0.0)
    pads = batch.ids == 0
    assert (r.weights * pads[:, None, None, :].numpy()).max() == 0.0


def test_query_only_masking_leaks_pad_content(batch):
    r = M.key_vs_query(batch.ids, "queries")
    real = (batch.ids != 0).numpy()
    assert r.mask_shape == (4, 1, 8, 1)
    assert np.nanmax(r.delta_real) > 0.1                        # real outputs move with pad content
    # sentence 3 has 5 pads: its real tokens put a large share of their weight on them
    assert r.pad_weight[3, :3].min() > 0.2
    d_all, w_all = M.key_query_metrics(r, real)
    assert d_all == float(np.nanmax(r.delta_real)) > 0.1
    assert w_all == float(r.pad_weight[real].max()) >= r.pad_weight[3, :3].min()
    # the full-length sentence has no pads: nothing changes there
    assert np.nanmax(r.delta_real[0]) == 0.0
    # pad rows (fully masked queries) are all-zero weights, not NaN
    pad_rows = r.weights[3, :, 3:, :]
    assert np.isfinite(pad_rows).all() and (pad_rows == 0.0).all()
    assert not np.isnan(r.out).any()
    assert np.isnan(r.delta_real[~real]).all()


# ---- the NaN guard ----------------------------------------------------------------------------------------

def test_nan_guard():
    scores = np.array([1.5, -0.3, 0.8, 2.1, 0.0], dtype=np.float32)
    nr = M.nan_row(scores)
    assert np.isnan(nr.inf_softmax).all()                       # −∞ everywhere: 0/0
    assert np.allclose(nr.finite_softmax, 0.2, atol=0)          # large finite negative: uniform
    assert (nr.guarded == 0.0).all() and np.isfinite(nr.guarded).all()
    assert (nr.guarded_context == 0.0).all()
    assert nr.fp16_large_negative == float("-inf")
    # the same directly on the model's attention with a fully masked row among normal rows
    q = torch.randn(1, 2, 3, 4)
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, False]])[None, None]
    ctx, w = M.scaled_dot_product_attention(q, q, q, mask)
    assert (w[0, :, 1] == 0).all() and (ctx[0, :, 1] == 0).all()
    assert torch.allclose(w[0, :, 0].sum(-1), torch.ones(2))
    plain = torch.softmax(torch.full((3,), float("-inf")), -1)
    assert torch.isnan(plain).all()
    assert M.nan_table(nr) == [("[NaN, NaN, NaN, NaN, NaN]", "[NaN]"), ("[0.2, 0.2, 0.2, 0.2, 0.2]", "[1]"),
                               ("[0, 0, 0, 0, 0]", "[0]")]
    assert M.format_vector(np.array([0.12345, float("nan"), 3.0])) == "[0.123, NaN, 3]"


def test_fp16_masked_fill_with_large_negative_overflows():
    """masks.fp16_note: −1e9 cast to fp16 is −inf, and masked_fill(−1e9) on fp16 scores raises."""
    scores = torch.zeros(2, 3, dtype=torch.float16)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    assert float(torch.tensor(-1e9).half()) == float("-inf")
    with pytest.raises(RuntimeError, match="overflow"):
        scores.masked_fill(~mask, -1e9)
    safe = scores.masked_fill(~mask, torch.finfo(torch.float16).min)   # the documented fix
    assert torch.isfinite(safe).all() and torch.softmax(safe.float(), -1)[1, 0] == 1.0


def test_left_padding_with_causal_mask_has_fully_masked_rows():
    m, empty = M.left_padded_rows(3, 6)
    assert empty == [0, 1, 2]
    assert m[5].sum() == 3 and m[3].sum() == 1


@pytest.mark.parametrize(("T", "expect"), [(1, (1, 3, [0, 1])), (2, (1, 3, [0, 1])), (3, (2, 4, [0, 1])),
                                           (8, (3, 8, [0, 1, 2, 3, 4]))])
def test_left_pad_example(T, expect):
    n, total, mask, empty, labels = M.left_pad_example(T)
    assert (n, total, empty) == expect and mask.shape == (total, total)
    assert labels == [M.PAD] * (total - n) + [f"w{i}" for i in range(total - n, total)]


# ---- BERT -----------------------------------------------------------------------------------------------

def test_mlm_recipe_rates():
    r = M.mlm_rates(200_000, seed=1)
    assert abs(r["selected"] - 0.15) < 0.005
    assert abs(r["mask"] - 0.8) < 0.01 and abs(r["random"] - 0.1) < 0.01 and abs(r["keep"] - 0.1) < 0.01


def test_mlm_mask_is_seeded_and_consistent():
    toks = list("我爱自然语言处理这个任务很有意思") + ["the", "end"]
    a, b = M.mlm_mask(toks, 7), M.mlm_mask(toks, 7)
    assert a == b
    assert any(x.action != "none" for x in a)
    for x in a:
        assert x.original == toks[x.position]
        if x.action == "none":
            assert x.input == x.original and x.label is None
        elif x.action == "mask":
            assert x.input == M.MASK_TOKEN and x.label == x.original
        elif x.action == "random":
            assert x.input != x.original and x.label == x.original
        else:
            assert x.input == x.original and x.label == x.original
    actions = {x.action for s in range(40) for x in M.mlm_mask(toks, s)}
    assert actions == {"none", "mask", "random", "keep"}


# ---- no causal leak ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pos", [1, 3, 6])
def test_no_causal_leak(pos):
    toks = M.parse_batch("我爱自然语言处理").tokens[0]
    r = M.leak(toks, pos, "猫")
    assert r.delta[:pos].max() <= 1e-6
    assert r.delta[:pos].max() == 0.0                           # in fact bit-for-bit equal
    assert r.delta[pos] > 1e-3 and (r.delta[pos:] > 0).all()
    assert r.before == 0.0 and r.after == float(r.delta[pos:].max()) > 1e-3


def test_without_causal_mask_earlier_positions_change():
    toks = M.parse_batch("我爱自然语言处理").tokens[0]
    r = M.leak(toks, 4, "猫", causal=False)
    assert r.delta[:4].min() > 1e-3
    assert r.before == float(r.delta[:4].max()) and M.leak(toks, 0, "猫").before == 0.0


# ---- the page ---------------------------------------------------------------------------------------------

_render = functools.partial(open_page, "masks", check_exceptions=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["masks"])
def test_page_sections_render(lang, section):
    from i18n import t

    at = _render(lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_masks", lang) in [e.value for e in at.title]
    assert at.query_params["section"] == [section] or at.query_params["section"] == section


@pytest.mark.parametrize("text, expect", [
    ("", "err_empty"),
    ("<script>alert(1)</script>\n<b>bold</b> text", None),
    ("😀 🎉 emoji\n" * 3, None),
    ("a b\n" * 150, "note_too_long"),
], ids=["empty", "html", "emoji", "600-chars"])
def test_page_bad_input(text, expect):
    from i18n import t

    at = _render("en", section="padding")
    at.text_area[0].input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = [e.value for e in at.warning] + [e.value for e in at.info]
    if expect:
        assert t(f"masks.{expect}", "en", n=M.MAX_CHARS) in msgs, msgs
    # user text is never rendered as markdown/HTML: it only reaches widgets, tables and figures
    assert not any("<script>" in m.value for m in at.markdown)


@pytest.mark.parametrize("section", ["padding", "leak", "bert"])
def test_page_10000_chars_in_link(section):
    """10,000 characters (through the URL; the text box itself stops at MAX_CHARS)."""
    from i18n import t

    at = _render("zh", section=section, sentences="我爱你 " * 2500)
    assert not at.exception, [e.value for e in at.exception]
    msgs = [e.value for e in at.info]
    assert t("masks.note_too_long", "zh", n=M.MAX_CHARS) in msgs
    assert t("masks.note_too_many_tokens", "zh", n=M.MAX_TOKENS) in msgs
    assert len(at.text_area[0].value) == M.MAX_CHARS


def test_page_leak_section_reports_no_leak():
    from i18n import t

    at = _render("en", section="leak")
    assert not at.exception
    assert t("masks.leak_ok", "en") in [e.value for e in at.success]
    at.toggle[0].set_value(False).run()
    assert t("masks.leak_bad", "en") in [e.value for e in at.error]


@pytest.mark.parametrize("sentences, shown", [
    (M.DEFAULT_SENTENCES, True),        # ragged batch: pads exist, so their rows are explained
    ("a b c\nd e f", False),            # equal lengths: no padding, nothing to explain
], ids=["padded", "no-padding"])
def test_key_vs_query_pad_row_note_only_with_padding(sentences, shown):
    from i18n import t

    assert (not bool(M.parse_batch(sentences).ids.ne(0).all())) is shown
    at = _render("en", section="key_vs_query", sentences=sentences)
    assert not at.exception, [e.value for e in at.exception]
    assert (t("masks.padding_rows_note", "en") in [c.value for c in at.caption]) is shown
