"""The decoder-only model (model/decoder.py) against independent formulas and torch's own pieces,
and every injected bug changes something measurable."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model.decoder import (
    BUGS,
    POS_SCHEMES,
    CausalSelfAttention,
    DecoderBlock,
    DecoderConfig,
    DecoderLM,
    KVCache,
    RMSNorm,
    _InferencePlan,
    alibi_slopes,
    apply_rope,
    apply_rope_rotate_half,
    kv_cache_bytes,
    repeat_kv,
    rope_angles,
)
from model.transformer import MultiHeadAttention, make_causal_mask

ATOL = 1e-5
V = 40


def _cfg(**kw):
    base = dict(vocab_size=V, d_model=32, n_layers=2, n_heads=4, max_len=64)
    base.update(kw)
    return DecoderConfig(**base)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)          # every torch.randn below is reproducible


def _randomize(module: nn.Module, seed: int, scale: float = 0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (scale if p.dim() > 1 else 0.5) + (1.0 if p.dim() == 1 else 0))


def _model(seed=0, **kw):
    m = DecoderLM(_cfg(**kw)).eval()
    _randomize(m, seed, 0.2)
    return m


# ---------------------------------------------------------------------------------------------
# Attention: MHA equals our encoder-decoder MultiHeadAttention; GQA equals MHA with K/V repeated

def test_mha_equals_our_multihead_attention_with_causal_mask():
    cfg = _cfg(bias=True, pos="none")
    ours = CausalSelfAttention(cfg).eval()
    _randomize(ours, 1)
    ref = MultiHeadAttention(cfg.d_model, cfg.n_heads).eval()
    with torch.no_grad():
        for name in ("W_q", "W_k", "W_v", "W_o"):
            getattr(ref, name).weight.copy_(getattr(ours, name).weight)
            getattr(ref, name).bias.copy_(getattr(ours, name).bias)
    x = torch.randn(3, 9, cfg.d_model)
    out, _ = ours(x)
    out_w, w = ours(x, return_attn=True)
    ref_out, tr = ref(x, x, x, make_causal_mask(9), return_trace=True)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(out_w, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, tr.weights, atol=ATOL, rtol=0)
    assert out.abs().max() > 0.1


@pytest.mark.parametrize("n_kv", [1, 2])
def test_gqa_equals_mha_with_each_kv_head_repeated(n_kv):
    cfg = _cfg(n_kv_heads=n_kv, pos="rope")
    gqa = CausalSelfAttention(cfg).eval()
    _randomize(gqa, 2)
    mha = CausalSelfAttention(_cfg(n_kv_heads=4, pos="rope")).eval()
    rep, d_h = 4 // n_kv, cfg.d_head
    with torch.no_grad():
        mha.W_q.weight.copy_(gqa.W_q.weight)
        mha.W_o.weight.copy_(gqa.W_o.weight)
        for name in ("W_k", "W_v"):     # rows of K/V head j copied to heads j*rep .. j*rep+rep-1
            w = getattr(gqa, name).weight.view(n_kv, d_h, -1)
            getattr(mha, name).weight.copy_(w.repeat_interleave(rep, dim=0).reshape(4 * d_h, -1))
    m = DecoderLM(cfg)
    x = torch.randn(2, 11, cfg.d_model)
    rope = m._rope(0, 11, x.device)
    for attn_flag in (False, True):
        a, wa = gqa(x, rope, return_attn=attn_flag)
        b, wb = mha(x, rope, return_attn=attn_flag)
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)
        if attn_flag:
            torch.testing.assert_close(wa, wb, atol=ATOL, rtol=0)


def test_repeat_kv_order():
    x = torch.arange(2 * 3 * 1 * 1, dtype=torch.float32).view(1, 2, 3, 1)
    y = repeat_kv(x, 2)
    assert y.shape == (1, 4, 3, 1)
    for j in range(4):
        torch.testing.assert_close(y[0, j], x[0, j // 2])


# ---------------------------------------------------------------------------------------------
# KV cache: cached decoding == full recomputation at every step

@pytest.mark.parametrize("pos", POS_SCHEMES)
@pytest.mark.parametrize("n_kv", [4, 2, 1])
def test_cache_equals_full_recompute_every_step(pos, n_kv):
    m = _model(3, pos=pos, n_kv_heads=n_kv, ffn="swiglu" if n_kv != 1 else "gelu")
    idx = torch.randint(0, V, (2, 20), generator=torch.Generator().manual_seed(0))
    full = m(idx)
    cache = m.new_cache(batch=2, capacity=4)          # small capacity: growth is exercised too
    parts = [m(idx[:, :5], cache)]                   # prefill
    assert cache.length == 5
    parts.append(m(idx[:, 5:8], cache))              # a chunk after a prefix
    for t in range(8, 20):
        parts.append(m(idx[:, t:t + 1], cache))      # one token per step
    assert cache.length == 20
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=ATOL, rtol=0)
    assert full.abs().max() > 0.1
    k0, v0 = cache.get(0)
    assert k0.shape == (2, n_kv, 20, 8) and v0.shape == (2, n_kv, 20, 8)
    assert cache.nbytes() == kv_cache_bytes(2, n_kv, 8, 20, 2, bytes_per=4)


def test_cache_equal_with_attention_weights_returned():
    m = _model(4, pos="rope", n_kv_heads=2)
    idx = torch.randint(0, V, (1, 12), generator=torch.Generator().manual_seed(1))
    full, attn = m(idx, return_attn=True)
    cache = m.new_cache()
    m(idx[:, :11], cache)
    last, attn_last = m(idx[:, 11:], cache, return_attn=True)
    torch.testing.assert_close(last, full[:, 11:], atol=ATOL, rtol=0)
    for a, b in zip(attn, attn_last, strict=True):
        torch.testing.assert_close(b, a[:, :, 11:], atol=ATOL, rtol=0)
        torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)), atol=ATOL, rtol=0)
        assert torch.all(a.triu(1) == 0)


def test_kv_cache_bytes_formula():
    # Llama-2-7B: 32 layers, 32 KV heads, d_head 128, fp16 -> 0.5 MiB per token
    assert kv_cache_bytes(32, 32, 128, 1, 1, 2) == 524288
    # Llama-3-8B (GQA, 8 KV heads), 8192 tokens: 1 GiB
    assert kv_cache_bytes(32, 8, 128, 8192, 1, 2) == 2 ** 30
    c = KVCache(3, 2, 2, 4, capacity=2)
    c.append(0, torch.ones(2, 2, 5, 4), torch.ones(2, 2, 5, 4))
    assert c.capacity >= 5
    c.reset()
    assert c.length == 0 and c.nbytes() == 0


@pytest.mark.parametrize("use_cache", [True, False])
def test_generate_greedy_same_with_and_without_cache(use_cache):
    m = _model(5, pos="rope", n_kv_heads=2)
    idx = torch.tensor([[1, 2, 3]])
    a = m.generate(idx, 15, temperature=0, use_cache=True)
    b = m.generate(idx, 15, temperature=0, use_cache=use_cache)
    assert torch.equal(a, b) and a.shape == (1, 18)
    s1 = m.generate(idx, 15, temperature=1.0, top_k=10, seed=7, use_cache=use_cache)
    s2 = m.generate(idx, 15, temperature=1.0, top_k=10, seed=7, use_cache=True)
    assert torch.equal(s1, s2)


# ---------------------------------------------------------------------------------------------
# RoPE

def _rope_complex(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Independent formula: pairs (x[2i], x[2i+1]) as complex numbers times e^{i p theta_i}."""
    d = x.shape[-1]
    xc = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    theta = torch.tensor([base ** (-2 * i / d) for i in range(d // 2)], dtype=torch.float64)
    rot = torch.polar(torch.ones(len(positions), d // 2, dtype=torch.float64),
                      positions.double()[:, None] * theta[None])
    return torch.view_as_real(xc * rot).reshape(x.shape).float()


def test_rope_equals_complex_rotation():
    x = torch.randn(2, 3, 7, 16)
    torch.testing.assert_close(apply_rope(x, offset=5), _rope_complex(x, torch.arange(5, 12)), atol=ATOL, rtol=0)
    pos = torch.tensor([0, 3, 100, 7, 2, 9, 1000])
    torch.testing.assert_close(apply_rope(x, positions=pos), _rope_complex(x, pos), atol=1e-4, rtol=0)
    cos, sin = rope_angles(4, 16, offset=2)
    assert cos.shape == (4, 8)
    torch.testing.assert_close(cos[1, 1], torch.tensor(math.cos(3 * 10000 ** (-2 / 16))))


@pytest.mark.parametrize("shift", [1, 17, 250])
def test_rope_score_depends_only_on_position_difference(shift):
    g = torch.Generator().manual_seed(shift)
    q, k = torch.randn(1, 1, 1, 32, generator=g), torch.randn(1, 1, 1, 32, generator=g)
    for p, s in [(3, 0), (10, 10), (5, 9)]:
        a = (apply_rope(q, offset=p) * apply_rope(k, offset=s)).sum()
        b = (apply_rope(q, offset=p + shift) * apply_rope(k, offset=s + shift)).sum()
        assert abs(a.item() - b.item()) < 1e-4
    # and it does depend on the difference
    a = (apply_rope(q, offset=3) * apply_rope(k, offset=0)).sum()
    b = (apply_rope(q, offset=4) * apply_rope(k, offset=0)).sum()
    assert abs(a.item() - b.item()) > 1e-3


def test_rope_rotate_half_is_a_permutation_of_interleaved():
    x = torch.randn(2, 2, 6, 16)
    P = torch.cat([torch.arange(0, 16, 2), torch.arange(1, 16, 2)])
    torch.testing.assert_close(apply_rope_rotate_half(x[..., P], offset=3), apply_rope(x, offset=3)[..., P],
                               atol=ATOL, rtol=0)


def test_alibi_slopes_power_of_two():
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))


# ---------------------------------------------------------------------------------------------
# A block equals torch's own pieces

def test_rmsnorm_equals_torch():
    ours = RMSNorm(32)
    _randomize(ours, 6)
    ref = nn.RMSNorm(32, eps=1e-5)
    with torch.no_grad():
        ref.weight.copy_(ours.weight)
    x = torch.randn(4, 5, 32) * 3
    torch.testing.assert_close(ours(x), ref(x), atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.formula(x), ref(x), atol=ATOL, rtol=0)


def test_rope_swiglu_block_equals_torch_pieces():
    cfg = _cfg(n_kv_heads=2, pos="rope", norm="rmsnorm", ffn="swiglu")
    block = DecoderBlock(cfg).eval()
    _randomize(block, 7, 0.15)    # activations of order 1-10: float32 rounding well under 1e-5
    B, T, d, h, g, d_h = 2, 10, cfg.d_model, 4, 2, cfg.d_head
    n1, n2 = nn.RMSNorm(d, eps=1e-5), nn.RMSNorm(d, eps=1e-5)
    with torch.no_grad():
        n1.weight.copy_(block.norm1.weight)
        n2.weight.copy_(block.norm2.weight)
    lin = {n: nn.Linear(1, 1, bias=False) for n in ("q", "k", "v", "o", "w1", "w2", "w3")}
    src = {"q": block.attn.W_q, "k": block.attn.W_k, "v": block.attn.W_v, "o": block.attn.W_o,
           "w1": block.ffn.W_1, "w2": block.ffn.W_2, "w3": block.ffn.W_3}
    for n, layer in lin.items():
        layer.weight = nn.Parameter(src[n].weight.detach().clone())
    x = torch.randn(B, T, d)
    hdn = n1(x)
    q = lin["q"](hdn).view(B, T, h, d_h).transpose(1, 2)
    k = lin["k"](hdn).view(B, T, g, d_h).transpose(1, 2)
    v = lin["v"](hdn).view(B, T, g, d_h).transpose(1, 2)
    q, k = _rope_complex(q, torch.arange(T)), _rope_complex(k, torch.arange(T))
    a = F.scaled_dot_product_attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), is_causal=True)
    x1 = x + lin["o"](a.transpose(1, 2).reshape(B, T, d))
    y = n2(x1)
    ref = x1 + lin["w2"](F.silu(lin["w1"](y)) * lin["w3"](y))
    out, _ = block(x, DecoderLM(cfg)._rope(0, T, x.device))
    torch.testing.assert_close(out, ref, atol=ATOL, rtol=0)
    assert (out - x).abs().max() > 0.1


def test_layernorm_gelu_block_equals_transformer_encoder_layer():
    cfg = _cfg(pos="none", norm="layernorm", ffn="gelu", bias=True, d_ff=64)
    block = DecoderBlock(cfg).eval()
    _randomize(block, 8)
    ref = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, 64, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=True).eval()
    a = block.attn
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([a.W_q.weight, a.W_k.weight, a.W_v.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([a.W_q.bias, a.W_k.bias, a.W_v.bias]))
        ref.self_attn.out_proj.weight.copy_(a.W_o.weight)
        ref.self_attn.out_proj.bias.copy_(a.W_o.bias)
        ref.linear1.weight.copy_(block.ffn.W_1.weight)
        ref.linear1.bias.copy_(block.ffn.W_1.bias)
        ref.linear2.weight.copy_(block.ffn.W_2.weight)
        ref.linear2.bias.copy_(block.ffn.W_2.bias)
        for i in (1, 2):
            getattr(ref, f"norm{i}").weight.copy_(getattr(block, f"norm{i}").weight)
            getattr(ref, f"norm{i}").bias.copy_(getattr(block, f"norm{i}").bias)
    x = torch.randn(2, 9, cfg.d_model)
    mask = nn.Transformer.generate_square_subsequent_mask(9)
    torch.testing.assert_close(block(x)[0], ref(x, src_mask=mask, is_causal=True), atol=ATOL, rtol=0)


# ---------------------------------------------------------------------------------------------
# Every injected bug changes something measurable

def _bugged(bug, seed=9):
    good = _model(seed, pos="rope", n_kv_heads=2)
    bad = DecoderLM(_cfg(pos="rope", n_kv_heads=2, bug=bug)).eval()
    bad.load_state_dict(good.state_dict())
    return good, bad


def _leaks_future(m) -> bool:
    idx = torch.randint(0, V, (1, 12), generator=torch.Generator().manual_seed(2))
    other = idx.clone()
    other[0, 8:] = (other[0, 8:] + 1) % V
    return (m(idx)[0, :8] - m(other)[0, :8]).abs().max().item() > 1e-4


def _cache_mismatch(m) -> float:
    idx = torch.randint(0, V, (1, 12), generator=torch.Generator().manual_seed(3))
    cache = m.new_cache()
    parts = [m(idx[:, :4], cache)] + [m(idx[:, t:t + 1], cache) for t in range(4, 12)]
    return (torch.cat(parts, 1) - m(idx)).abs().max().item()


def test_correct_model_has_no_leak_and_matches_cache():
    good = _model(9, pos="rope", n_kv_heads=2)
    assert not _leaks_future(good)
    assert _cache_mismatch(good) < ATOL


@pytest.mark.parametrize("bug", BUGS)
def test_each_bug_changes_the_logits_or_the_cache(bug):
    good, bad = _bugged(bug)
    idx = torch.randint(0, V, (2, 12), generator=torch.Generator().manual_seed(4))
    if bug == "cache_not_updated":
        torch.testing.assert_close(bad(idx), good(idx), atol=ATOL, rtol=0)   # full pass is right
        assert _cache_mismatch(bad) > 1e-3                                    # cached decoding is not
    else:
        assert (bad(idx) - good(idx)).abs().max().item() > 1e-3


@pytest.mark.parametrize("bug", ["mask_transposed", "mask_off_by_one", "softmax_wrong_axis", "norm_wrong_axis"])
def test_bugs_that_leak_the_future(bug):
    assert _leaks_future(_bugged(bug)[1])


def test_softmax_wrong_axis_rows_do_not_sum_to_one():
    _, bad = _bugged("softmax_wrong_axis")
    _, attn = bad(torch.randint(0, V, (1, 8)), return_attn=True)
    assert (attn[0].sum(-1) - 1).abs().max() > 0.1


def test_no_positions_is_blind_to_order_in_the_first_layer():
    _, bad = _bugged("no_positions")
    good = _bugged("no_positions")[0]
    a = torch.tensor([[5, 6, 7, 8]])
    b = torch.tensor([[6, 5, 7, 8]])      # swap two earlier tokens: the last position sees the same set
    _, wa = bad(a, return_attn=True)
    _, wb = bad(b, return_attn=True)
    torch.testing.assert_close(wa[0][0, :, 3].sort(-1).values, wb[0][0, :, 3].sort(-1).values, atol=ATOL, rtol=0)
    _, ga = good(a, return_attn=True)
    _, gb = good(b, return_attn=True)
    assert (ga[0][0, :, 3].sort(-1).values - gb[0][0, :, 3].sort(-1).values).abs().max() > 1e-4


def test_unknown_bug_and_bad_config_rejected():
    with pytest.raises(ValueError):
        _cfg(bug="nope")
    with pytest.raises(ValueError):
        _cfg(n_heads=4, n_kv_heads=3)
    with pytest.raises(ValueError):
        _cfg(pos="xpos")


# ---------------------------------------------------------------------------------------------
# Inference fast paths: the fused Q|K|V projection (no grad) and generate()'s plan

def _decode_steps(step, m, idx):
    """Prefill 5, a chunk of 3, then one token at a time -> logits (B, T, V) and the cache."""
    cache = m.new_cache(batch=idx.shape[0], capacity=4)
    parts = [step(idx[:, :5], cache), step(idx[:, 5:8], cache)]
    parts += [step(idx[:, t:t + 1], cache) for t in range(8, idx.shape[1])]
    return torch.cat(parts, 1), cache


@pytest.mark.parametrize("kw", [
    dict(pos="rope", n_kv_heads=2),
    dict(pos="rope", n_kv_heads=1, bias=True, norm="layernorm"),
    dict(pos="alibi", n_kv_heads=4, ffn="gelu"),
    dict(pos="sinusoidal", n_kv_heads=2, ffn="relu", bias=True),
    dict(pos="learned", n_kv_heads=4),
    dict(pos="none", n_kv_heads=2, norm="layernorm"),
])
def test_inference_plan_gives_the_same_logits_as_forward(kw):
    m = _model(11, **kw)
    idx = torch.randint(0, V, (2, 14), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        plan = _InferencePlan.build(m)
        assert plan is not None
        full = m(idx)
        assert torch.equal(plan(idx), full)                              # same ops, same order
        ours, c1 = _decode_steps(m, m, idx)
        theirs, c2 = _decode_steps(plan, m, idx)
    assert torch.equal(ours, theirs) and c1.length == c2.length == 14
    for layer in range(2):
        assert all(torch.equal(a, b) for a, b in zip(c1.get(layer), c2.get(layer), strict=True))
    torch.testing.assert_close(ours, full, atol=ATOL, rtol=0)
    assert full.abs().max() > 0.1
    with torch.enable_grad():
        torch.testing.assert_close(m(idx), full, atol=ATOL, rtol=0)     # separate Linears: rounding only


def test_fused_projections_are_views_that_follow_in_place_changes():
    m = _model(12, pos="rope", n_kv_heads=2)
    a = m.blocks[0].attn
    fused = a._qkv.get(a)
    assert fused is not None and fused[1] is None                        # no biases in this config
    w = fused[0]
    assert w.shape == (4 * 8 + 2 * 2 * 8, 32)
    assert torch.equal(w, torch.cat([a.W_q.weight, a.W_k.weight, a.W_v.weight]))
    other = _model(13, pos="rope", n_kv_heads=2)
    m.load_state_dict(other.state_dict())                                # copies in place
    with torch.no_grad():
        a.W_k.weight[3, 5] += 1.0                                        # an optimizer-style update
        other.blocks[0].attn.W_k.weight[3, 5] += 1.0
    assert a._qkv.get(a) is not None and w[4 * 8 + 3, 5] == a.W_k.weight[3, 5]
    idx = torch.randint(0, V, (1, 9), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        torch.testing.assert_close(m(idx), other(idx), atol=1e-6, rtol=0)
        assert torch.equal(m.generate(idx, 6, temperature=0), other.generate(idx, 6, temperature=0))


def test_fused_projections_step_aside_when_a_weight_is_replaced_or_copied():
    import copy

    m = _model(14, pos="rope", n_kv_heads=2)
    idx = torch.randint(0, V, (1, 9), generator=torch.Generator().manual_seed(7))
    twin = copy.deepcopy(m)                                              # new storage: no fused view
    a = twin.blocks[1].attn
    assert a._qkv.get(a) is None
    with torch.no_grad():
        torch.testing.assert_close(twin(idx), m(idx), atol=ATOL, rtol=0)
        assert _InferencePlan.build(twin) is None
        d = m.double()                                                   # .to(): also new storage
        assert d(idx).dtype == torch.float64
    m, ref = _model(14, pos="rope", n_kv_heads=2), _model(14, pos="rope", n_kv_heads=2)
    a = m.blocks[0].attn
    new_wk = torch.randn(a.W_k.weight.shape) * 0.3
    a.W_k.weight = nn.Parameter(new_wk.clone())                          # what the drills do
    assert a._qkv.get(a) is None
    with torch.no_grad():
        assert _InferencePlan.build(m) is None
        ref.blocks[0].attn.W_k.weight.copy_(new_wk)
        torch.testing.assert_close(m(idx), ref(idx), atol=ATOL, rtol=0)
        assert (m(idx) - twin(idx)).abs().max() > 1e-3


def test_fused_weights_follow_updates_made_in_inference_mode():
    idx = torch.randint(0, V, (1, 7), generator=torch.Generator().manual_seed(8))
    with torch.inference_mode():                                         # inference tensors: no version counter
        m = _model(15, pos="rope", n_kv_heads=2)
        before = m(idx)
        m.blocks[0].attn.W_v.weight.mul_(2.0)
        m.blocks[1].ffn.W_1.weight.zero_()
        after = m(idx)
    ref = _model(15, pos="rope", n_kv_heads=2)
    with torch.no_grad():
        ref.blocks[0].attn.W_v.weight.mul_(2.0)
        ref.blocks[1].ffn.W_1.weight.zero_()
        torch.testing.assert_close(after, ref(idx), atol=1e-6, rtol=0)
    assert (after - before).abs().max() > 1e-3


def test_hooks_patches_bugs_and_dropout_keep_the_module_path():
    m = _model(16, pos="rope", n_kv_heads=2)
    idx = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert _InferencePlan.build(m) is not None
        calls = []
        handle = m.blocks[0].attn.W_q.register_forward_hook(lambda mod, inp, out: calls.append(out.shape))
        assert _InferencePlan.build(m) is None
        m.generate(idx, 3, temperature=0)
        assert calls == [(1, 4, 32), (1, 1, 32), (1, 1, 32)]              # W_q really called each step
        handle.remove()
        norm = m.blocks[1].norm2
        norm.forward = lambda x: torch.zeros_like(x)                     # a patched forward (drills)
        assert _InferencePlan.build(m) is None
        patched = m.generate(idx, 5, temperature=0)
        del norm.forward
        assert _InferencePlan.build(m) is not None
        assert not torch.equal(patched, m.generate(idx, 5, temperature=0))
        assert _InferencePlan.build(_bugged("no_scale")[1]) is None
        drop = DecoderLM(_cfg(dropout=0.1)).train()
        assert _InferencePlan.build(drop) is None and _InferencePlan.build(drop.eval()) is not None
    assert _InferencePlan.build(m) is None                               # grad mode: the Parameters


def test_generate_with_and_without_the_plan(monkeypatch):
    m = _model(17, pos="rope", n_kv_heads=2)
    idx = torch.tensor([[3, 1, 4, 1, 5]])
    runs = {}
    for planned in (True, False):
        if not planned:
            monkeypatch.setattr(_InferencePlan, "build", classmethod(lambda cls, lm: None))
        runs[planned] = [m.generate(idx, 20, temperature=0, use_cache=c) for c in (True, False)]
        runs[planned].append(m.generate(idx, 20, temperature=0.9, top_k=12, seed=3))
    for a, b in zip(runs[True], runs[False], strict=True):
        assert torch.equal(a, b)
    assert torch.equal(runs[True][0], runs[True][1]) and runs[True][0].shape == (1, 25)
