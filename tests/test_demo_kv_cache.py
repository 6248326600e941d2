"""KV-cache page: the memory formula and its presets, the memory-bound argument, the live steps."""
from __future__ import annotations

import functools

import pytest
import torch

from demos import kv_cache as K
from demos import llm
from model.decoder import KVCache, kv_cache_bytes
from tests.apptest import open_page

GiB = 2 ** 30


def test_llama2_7b_4096_tokens_fp16_is_2_gib_per_sequence() -> None:
    p = K.PRESETS["llama2-7b"]
    assert K.preset_cache_bytes(p, 4096, 1, "fp16") == 2 * GiB
    assert K.human_bytes(2 * GiB) == "2.00 GiB"
    assert K.bytes_per_token(p, "fp16") == 512 * 1024            # 0.5 MiB per token
    assert K.preset_cache_bytes(p, 4096, 8, "fp16") == 16 * GiB
    assert K.preset_cache_bytes(p, 4096, 1, "fp32") == 4 * GiB


def test_gqa_presets_are_4x_smaller() -> None:
    mha, gqa = K.PRESETS["llama2-7b"], K.PRESETS["llama3-8b"]
    assert (mha.layers, mha.d_head) == (gqa.layers, gqa.d_head) and mha.n_heads == gqa.n_heads == 32
    assert K.preset_cache_bytes(mha, 8192) == 4 * K.preset_cache_bytes(gqa, 8192)
    assert K.preset_cache_bytes(gqa, 8192) == 1 * GiB
    assert K.preset_cache_bytes(K.PRESETS["mistral-7b"], 32768) == 4 * GiB
    # GPT-2 small, 1024 tokens, fp16: 36 MiB
    assert K.preset_cache_bytes(K.PRESETS["gpt2"], 1024) == 36 * 2 ** 20


def test_formula_equals_the_model_and_a_real_cache() -> None:
    assert K.cache_bytes(3, 2, 16, 50, 4, 4) == kv_cache_bytes(3, 2, 16, 50, 4, 4)
    c = KVCache(n_layers=3, batch=4, n_kv_heads=2, d_head=16, capacity=64)
    for layer in range(3):
        c.append(layer, torch.zeros(4, 2, 50, 16), torch.zeros(4, 2, 50, 16))
    c.advance(50)
    real = sum(t[:, :, : c.length].numel() * t.element_size() for t in c.k + c.v)
    assert real == c.nbytes() == K.cache_bytes(3, 2, 16, 50, 4, 4)


def test_memory_series_and_our_preset() -> None:
    presets = [K.PRESETS["llama2-7b"], K.PRESETS["llama3-8b"]]
    grid, series = K.memory_series(presets, 2, "fp16")
    assert grid[0] == 128 and grid[-1] == 131072 and len(grid) == 60
    assert list(series) == ["Llama-2-7B", "Llama-3-8B (GQA)"]
    assert series["Llama-2-7B"][10] == K.preset_cache_bytes(presets[0], int(grid[10]), 2, "fp16")
    assert (series["Llama-2-7B"] == 4 * series["Llama-3-8B (GQA)"]).all()
    _, one = K.memory_series(presets[:1], 1, "fp32", grid=[1024])
    assert one["Llama-2-7B"].tolist() == [2 * 32 * 32 * 128 * 1024 * 4]
    live = llm.random_lm()
    p = K.preset_of("ours", live.net)
    assert (p.name, p.layers, p.n_heads, p.kv_heads, p.d_head, p.max_len) == ("ours", 4, 4, 2, 32, 256)
    assert p.params == live.net.num_params()


def test_decode_is_memory_bound_and_prefill_compute_bound() -> None:
    p = K.PRESETS["llama2-7b"]
    d1 = K.decode_cost(p, 4096, 1)
    # 2 FLOPs per 2-byte weight, and 4·L·h·d_h·T attention FLOPs per 2·2·L·g·d_h·T cache bytes (g = h):
    # exactly 1 FLOP per byte at batch 1 for an MHA model in fp16
    assert d1.intensity == pytest.approx(1.0)
    assert K.decode_cost(K.PRESETS["llama3-8b"], 4096, 1).intensity > 1.0   # GQA reads 4x less cache
    assert d1.weight_bytes == 2 * p.params
    ridge = K.ridge_point("A100 80GB SXM")
    assert 150 < ridge < 156
    assert d1.intensity < ridge / 100
    pre = K.prefill_cost(p, 4096, 1)
    assert pre.intensity > ridge                    # prefill: compute-bound
    # a larger batch raises the intensity (weights shared) but the cache reads grow with it
    d32 = K.decode_cost(p, 4096, 32)
    assert d1.intensity < d32.intensity < 32 * d1.intensity
    # lower bound = bytes / bandwidth: 12.55 GiB + 2 GiB at 2.039 TB/s ≈ 7.7 ms
    assert K.min_ms_per_token(p, 4096, 1, "A100 80GB SXM") == pytest.approx(
        1000 * (2 * p.params + 2 * GiB) / 2.039e12)
    assert 7.5 < K.min_ms_per_token(p, 4096, 1, "A100 80GB SXM") < 7.8


def test_steps_grow_one_row_per_decode_step_and_match_full_recompute() -> None:
    live = llm.random_lm()
    ids, dropped = llm.encode(live, "The cache")
    assert not dropped and len(ids) == 9
    run = K.cache_steps(live.net, ids, 5)
    assert [s.n_in for s in run] == [9, 1, 1, 1, 1, 1]
    cfg = live.cfg
    for s in run:
        T = 9 + s.step
        assert s.k.shape == s.v.shape == (cfg.n_layers, T, cfg.n_kv_heads * cfg.d_head)
        assert s.nbytes == K.cache_bytes(cfg.n_layers, cfg.n_kv_heads, cfg.d_head, T, 1, 4)
        assert s.max_diff < 1e-5
    # earlier rows never change: the cache only appends
    assert (run[5].k[:, :9] == run[0].k).all() and (run[5].v[:, :10] == run[1].v).all()
    # greedy chain: each step's token is the next step's input
    full = live.net.generate(torch.tensor([ids]), 5, temperature=0)[0, 9:].tolist()
    assert [s.token for s in run[:5]] == full


def test_timing_shapes() -> None:
    live = llm.random_lm(n_layers=1, d_model=32, n_heads=2, n_kv_heads=1)
    tm = K.timing(live.net, (8, 32), repeats=1)
    assert tm["lengths"] == [8, 32] and len(tm["cached"]) == len(tm["uncached"]) == 2
    assert all(t > 0 for t in tm["cached"] + tm["uncached"])


_page = functools.partial(open_page, "kv_cache", timeout=120)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_memory_section_from_url(lang: str) -> None:
    at = _page(lang, section="memory", preset="llama2-7b", length="4096", batch="1")
    assert at.metric[0].value == "2.00 GiB"
    assert any("2,147,483,648" in m.value for m in at.markdown)


def test_memory_section_gqa_preset_and_batch() -> None:
    at = _page("en", section="memory", preset="llama3-8b", length="8192", batch="4")
    assert at.metric[0].value == "4.00 GiB"
    assert any("1/4" in i.value for i in at.info)


def test_bound_and_steps_sections_render() -> None:
    at = _page("zh", section="bound", preset="llama2-7b", length="4096", batch="16")
    assert at.metric[0].value == "153 FLOP/B"
    at = _page("en", section="steps", prompt="Attention", step="4")
    assert any("≤" in s.value or "at most" in s.value for s in at.success)
    assert at.query_params["step"] == ["4"] or at.query_params["step"] == "4"
