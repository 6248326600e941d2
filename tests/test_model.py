"""Correctness of model/: masks, attention, positional encoding, trace, determinism, decoding, vocab."""
import hashlib
import math

import numpy as np
import pytest
import torch

from model import (
    HashVocab,
    MultiHeadAttention,
    Transformer,
    TransformerConfig,
    Vocab,
    make_causal_mask,
    make_pad_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
    tokenize,
)

CFG = dict(src_vocab_size=40, tgt_vocab_size=50)


def _model(**kw):
    return Transformer(TransformerConfig(**{**CFG, **kw})).eval()


SRC = torch.tensor([[5, 6, 7, 8, 9, 10], [11, 12, 13, 0, 0, 0]])
TGT = torch.tensor([[1, 20, 21, 22, 23], [1, 30, 31, 0, 0]])


# -- masks and attention ------------------------------------------------------------------------

def test_masks_shapes_and_values():
    m = make_pad_mask(SRC, 0)
    assert m.shape == (2, 1, 1, 6) and m.dtype == torch.bool
    assert m[1, 0, 0].tolist() == [True, True, True, False, False, False]
    c = make_causal_mask(4)
    assert c.shape == (1, 1, 4, 4)
    assert c[0, 0].tolist() == [[True, False, False, False], [True, True, False, False],
                                [True, True, True, False], [True, True, True, True]]


def test_padded_keys_zero_weight_and_rows_sum_to_one():
    net = _model()
    _, tr = net(SRC, TGT, trace=True)
    for layer in tr.encoder:
        w = layer.self_attn.weights                            # (B, h, S, S)
        assert torch.all(w[1, :, :, 3:] == 0.0)                # padded keys: exactly 0
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-6, rtol=0)
    for layer in tr.decoder:
        w = layer.self_attn.weights                            # (B, h, T, T)
        assert torch.all(w.triu(1) == 0.0)                     # future keys: exactly 0
        assert torch.all(w[1, :, :, 3:] == 0.0)
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-6, rtol=0)
        c = layer.cross_attn.weights                           # (B, h, T, S)
        assert torch.all(c[1, :, :, 3:] == 0.0)
        torch.testing.assert_close(c.sum(-1), torch.ones(c.shape[:-1]), atol=1e-6, rtol=0)


def test_fully_masked_rows_are_guarded():
    torch.manual_seed(0)
    q, k, v = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    mask = torch.ones(1, 1, 3, 5, dtype=torch.bool)
    mask[..., 1, :] = False                                    # query 1 may attend nothing
    ctx, w = scaled_dot_product_attention(q, k, v, mask)
    assert torch.isfinite(ctx).all() and torch.isfinite(w).all()
    assert torch.all(w[:, :, 1] == 0) and torch.all(ctx[:, :, 1] == 0)
    torch.testing.assert_close(w[:, :, [0, 2]].sum(-1), torch.ones(1, 2, 2), atol=1e-6, rtol=0)
    # without the guard the same row would be NaN
    s = (q @ k.transpose(-2, -1)).masked_fill(~mask, float("-inf"))
    assert torch.isnan(torch.softmax(s, -1)[:, :, 1]).all()
    # a whole all-<pad> source sentence through the model: finite logits
    net = _model()
    logits = net(torch.tensor([[0, 0, 0], [5, 6, 7]]), torch.tensor([[1, 4], [1, 4]]))
    assert torch.isfinite(logits).all()


def test_sdpa_matches_formula_and_scale_switch():
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 8)
    ctx, w = scaled_dot_product_attention(q, k, v)
    ref_w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(ctx, ref_w @ v, atol=1e-6, rtol=0)
    _, w_unscaled = scaled_dot_product_attention(q, k, v, scale=False)
    torch.testing.assert_close(w_unscaled, torch.softmax(q @ k.transpose(-2, -1), -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(ctx, torch.nn.functional.scaled_dot_product_attention(q, k, v),
                               atol=1e-5, rtol=0)


def test_decoder_is_causal():
    net = _model(dropout=0.0)
    src = SRC[:1]
    tgt = torch.tensor([[1, 20, 21, 22, 23, 24]])
    mem = net.encode(src, net.make_src_mask(src))
    base = net.decode(tgt, mem, net.make_src_mask(src), net.make_tgt_mask(tgt))
    for t in range(tgt.shape[1] - 1):
        changed = tgt.clone()
        changed[0, t + 1:] = torch.tensor([33, 34, 35, 36, 37])[: tgt.shape[1] - t - 1]
        out = net.decode(changed, mem, net.make_src_mask(src), net.make_tgt_mask(changed))
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1], atol=1e-6, rtol=0)
        assert not torch.allclose(out[:, t + 1], base[:, t + 1])       # the change is visible


# -- positional encoding ------------------------------------------------------------------------

def _pe_numpy(max_len, d):
    pe = np.zeros((max_len, d))
    for pos in range(max_len):
        for i in range(0, d, 2):
            pe[pos, i] = math.sin(pos / 10000 ** (i / d))
            if i + 1 < d:
                pe[pos, i + 1] = math.cos(pos / 10000 ** (i / d))
    return pe


@pytest.mark.parametrize("d", [16, 64, 7])
def test_sinusoidal_pe_matches_paper_formula(d):
    pe = sinusoidal_positional_encoding(50, d, dtype=torch.float64)
    assert pe.shape == (50, d)
    np.testing.assert_allclose(pe.numpy(), _pe_numpy(50, d), atol=1e-12, rtol=0)
    np.testing.assert_allclose(sinusoidal_positional_encoding(50, d).numpy(), _pe_numpy(50, d), atol=1e-6)


def test_pe_shift_is_a_block_diagonal_rotation():
    d, L = 32, 100
    pe = sinusoidal_positional_encoding(L, d, dtype=torch.float64)
    omega = 1.0 / 10000 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    for k in (1, 5, 17):
        M = torch.zeros(d, d, dtype=torch.float64)            # depends on k only, not on pos
        for i, w in enumerate(omega.tolist()):
            c, s = math.cos(w * k), math.sin(w * k)
            M[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
        shifted = pe[: L - k] @ M.T                            # row pos -> M_k · PE(pos)
        assert (shifted - pe[k:]).abs().max() < 1e-6
        assert torch.allclose(M @ M.T, torch.eye(d, dtype=torch.float64))  # a rotation


# -- trace ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_trace_shapes_match_real_tensors(norm_first):
    net = _model(norm_first=norm_first)
    logits, tr = net(SRC, TGT, trace=True)
    cfg = net.cfg
    B, S, T, d, h, dk = 2, SRC.shape[1], TGT.shape[1], cfg.d_model, cfg.n_heads, cfg.d_k
    shapes = dict(tr.shapes)
    assert len(shapes) == len(tr.shapes), "step names are unique"
    assert tr.shapes[0] == ("src tokens", (B, S)) and tr.shapes[-1] == ("logits", (B, T, cfg.tgt_vocab_size))
    real = {"src tokens": SRC, "src embedding": tr.embeddings["src"]["raw"],
            "src × √d_model": tr.embeddings["src"]["scaled"],
            "src + positional encoding": tr.embeddings["src"]["sum"],
            "tgt + positional encoding": tr.embeddings["tgt"]["sum"],
            "memory": tr.memory, "logits": logits}
    for i, L in enumerate(tr.encoder):
        a = L.self_attn
        real.update({f"enc{i} Q": a.q, f"enc{i} K": a.k, f"enc{i} V": a.v, f"enc{i} scores": a.scores,
                     f"enc{i} weights": a.weights, f"enc{i} context": a.context, f"enc{i} attn out": a.output,
                     f"enc{i} FFN hidden": L.ffn_hidden, f"enc{i} add & norm 1": L.sublayers[0].out,
                     f"enc{i} add & norm 2": L.sublayers[1].out})
        assert shapes[f"enc{i} concat heads"] == (B, S, d)
    for i, L in enumerate(tr.decoder):
        for kind, a in (("self", L.self_attn), ("cross", L.cross_attn)):
            real.update({f"dec{i} {kind} Q": a.q, f"dec{i} {kind} K": a.k, f"dec{i} {kind} scores": a.scores,
                         f"dec{i} {kind} weights": a.weights, f"dec{i} {kind} context": a.context})
        real[f"dec{i} add & norm 3"] = L.sublayers[2].out
    for name, t in real.items():
        assert shapes[name] == tuple(t.shape), name
    assert shapes["enc0 Q"] == (B, h, S, dk)
    assert shapes["dec0 cross scores"] == (B, h, T, S)
    assert len(tr.encoder) == len(tr.decoder) == cfg.n_layers
    assert ("enc final norm" in shapes) == norm_first
    # order of the real forward pass
    names = [n for n, _ in tr.shapes]
    assert names.index("src embedding") < names.index("enc0 Q") < names.index("enc0 scores") \
        < names.index("enc0 weights") < names.index("enc0 context") < names.index("enc0 concat heads") \
        < names.index("enc0 attn out") < names.index("enc1 Q") < names.index("memory") \
        < names.index("dec0 self Q") < names.index("dec0 cross Q") < names.index("dec1 FFN out")


def test_trace_values_are_consistent():
    net = _model()
    logits, tr = net(SRC, TGT, trace=True)
    a = tr.encoder[0].self_attn
    torch.testing.assert_close(a.scaled, a.scores / math.sqrt(net.cfg.d_k), atol=1e-6, rtol=0)
    assert torch.isinf(a.masked[1, :, :, 3:]).all() and (a.masked[1, :, :, 3:] < 0).all()
    torch.testing.assert_close(a.weights, torch.softmax(a.masked, -1), atol=1e-6, rtol=0)
    torch.testing.assert_close(a.context, a.weights @ a.v, atol=1e-6, rtol=0)
    W = net.encoder.layers[0].self_attn
    concat = a.context.transpose(1, 2).reshape(2, SRC.shape[1], -1)
    torch.testing.assert_close(a.output, W.W_o(concat), atol=1e-6, rtol=0)
    torch.testing.assert_close(a.q, W.W_q(tr.embeddings["src"]["sum"]).view(2, -1, 4, 16).transpose(1, 2),
                               atol=1e-5, rtol=0)
    assert a.mask.shape == (2, 1, 1, SRC.shape[1])
    s = tr.encoder[0].sublayers[0]                             # post-LN residual block
    torch.testing.assert_close(s.residual_sum, s.x_in + s.sublayer_out, atol=1e-6, rtol=0)
    torch.testing.assert_close(s.out, net.encoder.layers[0].res1.norm(s.residual_sum), atol=1e-6, rtol=0)
    e = tr.embeddings["tgt"]
    torch.testing.assert_close(e["scaled"], e["raw"] * 8.0)
    torch.testing.assert_close(e["sum"], e["scaled"] + e["pos"])
    torch.testing.assert_close(tr.logits, net.generator(tr.decoder_out))
    assert not any(t.requires_grad for t in (a.q, a.weights, tr.logits))
    # scale_attention=False: scaled == scores
    _, tr2 = _model(scale_attention=False)(SRC, TGT, trace=True)
    assert torch.equal(tr2.encoder[0].self_attn.scaled, tr2.encoder[0].self_attn.scores)


def test_trace_is_detached_under_grad():
    net = Transformer(TransformerConfig(**CFG))
    logits, tr = net(SRC, TGT, trace=True)
    assert logits.requires_grad and not tr.decoder[0].cross_attn.weights.requires_grad


@pytest.mark.parametrize("kw", [{}, {"norm_first": True, "activation": "gelu"},
                                {"pos_encoding": "learned", "tie_embeddings": True}])
def test_trace_on_off_identical_logits(kw):
    net = _model(**kw)
    off = net(SRC, TGT)
    on, _ = net(SRC, TGT, trace=True)
    assert torch.equal(off, on)


def test_same_config_same_weights_and_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, b = _model(seed=7), _model(seed=7)
    after = torch.rand(3)
    assert torch.equal(before, after), "building a model must not consume the global RNG"
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    c = _model(seed=8)
    assert not torch.equal(a.encoder.layers[0].self_attn.W_q.weight, c.encoder.layers[0].self_attn.W_q.weight)
    assert torch.equal(a(SRC, TGT), b(SRC, TGT))


def test_config_options():
    net = _model(tie_embeddings=True)
    assert net.generator.weight is net.tgt_embed.weight
    net = _model(norm_first=True)
    assert net.encoder.norm is not None and net.decoder.norm is not None
    assert _model().encoder.norm is None
    _, tr = _model(pos_encoding="none", scale_embedding=False)(SRC, TGT, trace=True)
    assert torch.equal(tr.embeddings["src"]["sum"], tr.embeddings["src"]["raw"])
    assert "src + positional encoding" not in dict(tr.shapes)
    with pytest.raises(ValueError):
        TransformerConfig(**CFG, d_model=30, n_heads=4)
    with pytest.raises(ValueError):
        _model(max_len=4)(SRC, TGT)
    # dropout only in train mode
    net = Transformer(TransformerConfig(**CFG, dropout=0.5))
    net.train()
    assert not torch.equal(net(SRC, TGT), net(SRC, TGT))
    net.eval()
    assert torch.equal(net(SRC, TGT), net(SRC, TGT))


def test_mha_trace_shapes():
    mha = MultiHeadAttention(32, 4)
    x, m = torch.randn(2, 5, 32), torch.randn(2, 7, 32)
    out, t = mha(x, m, m, return_trace=True)
    assert out.shape == (2, 5, 32) and t.q.shape == (2, 4, 5, 8) and t.k.shape == (2, 4, 7, 8)
    assert t.scores.shape == (2, 4, 5, 7) and t.context.shape == (2, 4, 5, 8) and t.mask is None


# -- decoding ----------------------------------------------------------------------------------------

def test_greedy_and_beam():
    net = _model()
    src = torch.tensor([5, 6, 7, 8])
    g = net.greedy_decode(src, bos_id=1, eos_id=2, max_len=8)
    assert isinstance(g, list) and 1 <= len(g) <= 8 and all(isinstance(t, int) for t in g)
    assert 0 not in g and 1 not in g
    assert net.greedy_decode(src[None], 1, 2, 8) == [g]
    batch = net.greedy_decode(torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), 1, 2, 8)
    assert batch[0] == g and batch[1] == net.greedy_decode(torch.tensor([9, 10]), 1, 2, 8)
    b = net.beam_search(src, 1, 2, max_len=8, beam_size=3, length_penalty=0.6)
    assert isinstance(b, list) and 1 <= len(b) <= 8
    ranked = net.beam_search(src, 1, 2, max_len=8, beam_size=3, return_all=True)
    assert ranked[0][0] == b and all(ranked[i][1] >= ranked[i + 1][1] for i in range(len(ranked) - 1))


def test_beam_size_one_equals_greedy():
    for seed in range(6):
        net = _model(seed=seed, tgt_vocab_size=12)            # small vocab: EOS gets produced
        src = torch.randint(3, 40, (5,), generator=torch.Generator().manual_seed(seed))
        for lp in (0.0, 1.0):
            assert net.beam_search(src, 1, 2, 10, beam_size=1, length_penalty=lp) == \
                net.greedy_decode(src, 1, 2, 10)


def test_greedy_matches_manual_argmax_loop():
    net = _model()
    src = torch.tensor([[5, 6, 7]])
    ys = [1]
    for _ in range(4):
        logits = net(src, torch.tensor([ys]))[0, -1]
        logits[[0, 1]] = float("-inf")
        ys.append(int(logits.argmax()))
        if ys[-1] == 2:
            break
    assert net.greedy_decode(src[0], 1, 2, 4) == ys[1:]


# -- vocab ----------------------------------------------------------------------------------------------

def test_tokenize():
    assert tokenize("我爱 NLP模型, hi") == ["我", "爱", "NLP", "模", "型", ",", "hi"]
    assert tokenize("  Hello   world ") == ["Hello", "world"]
    assert tokenize("你好，世界！") == ["你", "好", "，", "世", "界", "！"]
    v = Vocab(["模型", "hi"])
    assert v.tokenize("模型 很好") == ["模型", "很", "好"]
    for bad in ("", "   ", "\n\t"):
        with pytest.raises(ValueError):
            tokenize(bad)
        with pytest.raises(ValueError):
            v.encode(bad)


def test_vocab_encode_decode():
    v = Vocab.from_texts(["the cat sat", "猫 坐"])
    assert v.tokens[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    ids = v.encode("the cat", add_bos=True, add_eos=True)
    assert ids == [1, 4, 5, 2]
    assert v.encode("the dog") == [4, 3]
    assert v.decode(ids) == ["the", "cat"]
    assert v.decode(ids, skip_special=False) == ["<bos>", "the", "cat", "<eos>"]
    assert v.decode_text(v.encode("the cat 猫坐")) == "the cat 猫坐"
    toks, t = v.to_tensor("the cat", add_bos=True)
    assert toks == ["<bos>", "the", "cat"] and t.tolist() == [[1, 4, 5]] and t.dtype == torch.long


def test_hash_vocab_any_sentence():
    v = HashVocab(size=100, tokens=["hello"])
    toks, ids = v.encode_with_tokens("hello 任意 sentence!", add_eos=True)
    assert toks == ["hello", "任", "意", "sentence!", "<eos>"]
    assert ids[0] == 4 and ids[-1] == 2 and all(5 <= i < 100 for i in ids[1:-1])
    h = int.from_bytes(hashlib.blake2b(b"sentence!", digest_size=8).digest(), "little")
    assert ids[3] == 5 + h % 95                              # stable across processes
    assert HashVocab(size=100, tokens=["hello"]).encode("hello 任意 sentence!", add_eos=True) == ids
    assert v.decode(ids) == ["hello", "任", "意", "sentence!"]
    assert len(v) == 100
    net = _model(src_vocab_size=100, tgt_vocab_size=100)
    _, src = v.to_tensor("any typed sentence 随便 打字")
    assert torch.isfinite(net(src, torch.tensor([[1]]))).all()
    with pytest.raises(ValueError):
        HashVocab(size=4)
