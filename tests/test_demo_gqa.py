"""MHA / GQA / MQA page: parameter counts, cache sizes, the sharing map, GQA == MHA with repeated K/V."""
from __future__ import annotations

import functools

import pytest

from demos import gqa as G
from demos import llm
from model.decoder import DecoderConfig, DecoderLM
from tests.apptest import open_page


@pytest.mark.parametrize("g", [1, 2, 4, 8])
def test_attention_params_formula_equals_the_module(g: int) -> None:
    for bias in (False, True):
        net = DecoderLM(DecoderConfig(vocab_size=10, d_model=64, n_layers=1, n_heads=8, n_kv_heads=g, bias=bias))
        assert sum(p.numel() for p in net.blocks[0].attn.parameters()) == G.attn_params(64, 8, g, bias)


def test_variants_cache_shrinks_by_h_over_g() -> None:
    cfg = llm.random_lm(d_model=64, n_layers=2).cfg
    vs = G.variants(cfg, measure=False)
    assert [v.n_kv_heads for v in vs] == [1, 2, 4, 8]
    mha = vs[-1]
    for v in vs:
        assert mha.cache_bytes == (8 // v.n_kv_heads) * v.cache_bytes
    # MQA saves 2·(h−1)·d_h·d weights per layer (W_k and W_v): d = 64, d_h = 8
    assert mha.params - vs[0].params == 2 * 2 * 7 * 8 * 64
    assert vs[1].cache_bytes == 2 * 2 * 2 * 8 * G.TIMING_T * G.TIMING_BATCH * 2


def test_group_map() -> None:
    assert G.group_of(8, 2).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert G.group_of(8, 8).tolist() == list(range(8))
    assert G.group_of(8, 1).tolist() == [0] * 8


def test_gqa_equals_mha_with_repeated_kv_on_the_live_model() -> None:
    live = llm.load("lm")
    ids, _ = llm.encode(live, "Q: What is GQA?")
    assert live.cfg.n_kv_heads < live.cfg.n_heads
    assert G.mha_equivalence(live.net, ids) < 1e-5
    w = G.attention(live.net, ids)
    assert w.shape == (live.cfg.n_layers, live.cfg.n_heads, len(ids), len(ids))
    assert abs(w.sum(-1) - 1).max() < 1e-5


_page = functools.partial(open_page, "gqa", timeout=180)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_compare_section_from_url(lang: str) -> None:
    at = _page(lang, section="compare", n_kv_heads="2")
    assert at.metric[2].value.endswith("KiB")
    assert "1/4" in at.metric[2].delta


def test_heads_section_switch() -> None:
    at = _page("en", section="heads")
    assert any("1e-" in s.value or "0.00e+00" in s.value for s in at.success)
    at.slider(key="gqa:layer").set_value(2).run()
    assert not at.exception
    assert at.query_params["layer"] in ("2", ["2"])
    assert at.query_params["section"] in ("heads", ["heads"])
