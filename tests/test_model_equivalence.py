"""Our from-scratch modules equal torch's reference implementations when given the same weights."""
import itertools

import pytest
import torch
from torch import nn

from model import (
    DecoderLayer,
    EncoderLayer,
    MultiHeadAttention,
    Transformer,
    TransformerConfig,
)

D, H, FF = 32, 4, 64
ATOL = 1e-5


def _cfg(**kw):
    base = dict(src_vocab_size=50, tgt_vocab_size=60, d_model=D, n_heads=H, n_layers=2, d_ff=FF,
                dropout=0.0)
    base.update(kw)
    return TransformerConfig(**base)


def _copy_mha(ours: MultiHeadAttention, ref: nn.MultiheadAttention):
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        ref.out_proj.weight.copy_(ours.W_o.weight)
        ref.out_proj.bias.copy_(ours.W_o.bias)


def _randomize(module: nn.Module, seed: int):
    """Non-trivial biases and LayerNorm affine params, so the copy is really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.5))


def _copy_ffn_norms(ours, ref, n_res):
    with torch.no_grad():
        ref.linear1.weight.copy_(ours.ffn.W_1.weight)
        ref.linear1.bias.copy_(ours.ffn.W_1.bias)
        ref.linear2.weight.copy_(ours.ffn.W_2.weight)
        ref.linear2.bias.copy_(ours.ffn.W_2.bias)
        for i in range(1, n_res + 1):
            getattr(ref, f"norm{i}").weight.copy_(getattr(ours, f"res{i}").norm.weight)
            getattr(ref, f"norm{i}").bias.copy_(getattr(ours, f"res{i}").norm.bias)


def _pad_mask(B, T, lens):
    """torch convention: True = ignore (padding)."""
    return torch.arange(T)[None, :] >= torch.tensor(lens)[:, None]


# ---------------------------------------------------------------------------------------------

def test_mha_matches_torch_with_key_padding_mask():
    torch.manual_seed(0)
    ours = MultiHeadAttention(D, H)
    _randomize(ours, 1)
    ref = nn.MultiheadAttention(D, H, batch_first=True)
    _copy_mha(ours, ref)
    B, Tq, Tk = 3, 5, 7
    q, kv = torch.randn(B, Tq, D), torch.randn(B, Tk, D)
    kpm = _pad_mask(B, Tk, [7, 4, 2])
    out, tr = ours(q, kv, kv, mask=~kpm[:, None, None, :], return_trace=True)
    ref_out, ref_w = ref(q, kv, kv, key_padding_mask=kpm, need_weights=True, average_attn_weights=False)
    _, ref_avg = ref(q, kv, kv, key_padding_mask=kpm, need_weights=True, average_attn_weights=True)
    ref_out_fast, _ = ref(q, kv, kv, key_padding_mask=kpm, need_weights=False)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(out, ref_out_fast, atol=ATOL, rtol=0)
    torch.testing.assert_close(tr.weights, ref_w, atol=ATOL, rtol=0)
    torch.testing.assert_close(tr.weights.mean(1), ref_avg, atol=ATOL, rtol=0)
    assert out.abs().max() > 0.1        # not a trivial comparison


def test_mha_matches_torch_with_attn_mask_and_self_attention():
    torch.manual_seed(1)
    ours = MultiHeadAttention(D, H)
    _randomize(ours, 2)
    ref = nn.MultiheadAttention(D, H, batch_first=True)
    _copy_mha(ours, ref)
    B, T = 2, 6
    x = torch.randn(B, T, D)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)          # torch: True = not allowed
    kpm = _pad_mask(B, T, [6, 4])
    ours_mask = ~causal[None, None] & ~kpm[:, None, None, :]
    out, tr = ours(x, x, x, mask=ours_mask, return_trace=True)
    ref_out, ref_w = ref(x, x, x, attn_mask=causal, key_padding_mask=kpm, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(tr.weights, ref_w, atol=ATOL, rtol=0)
    # attn_mask alone
    out2 = ours(x, x, x, mask=~causal[None, None])
    ref2, ref2_avg = ref(x, x, x, attn_mask=causal)
    _, tr2 = ours(x, x, x, mask=~causal[None, None], return_trace=True)
    torch.testing.assert_close(out2, ref2, atol=ATOL, rtol=0)
    torch.testing.assert_close(tr2.weights.mean(1), ref2_avg, atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first,activation", list(itertools.product([False, True], ["relu", "gelu"])))
def test_encoder_layer_matches_torch(norm_first, activation):
    torch.manual_seed(2)
    cfg = _cfg(norm_first=norm_first, activation=activation)
    ours = EncoderLayer(cfg)
    _randomize(ours, 3)
    ref = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=activation, batch_first=True,
                                     norm_first=norm_first)
    _copy_mha(ours.self_attn, ref.self_attn)
    _copy_ffn_norms(ours, ref, 2)
    B, T = 3, 7
    x = torch.randn(B, T, D)
    kpm = _pad_mask(B, T, [7, 5, 3])
    for mode in ("train", "eval"):   # train(): torch's Python path; eval(): its fused fast path
        ours.train(mode == "train"), ref.train(mode == "train")
        out = ours(x, ~kpm[:, None, None, :])
        ref_out = ref(x, src_key_padding_mask=kpm)
        keep = ~kpm   # compare real positions (torch's fast path may zero padded query rows)
        torch.testing.assert_close(out[keep], ref_out[keep], atol=ATOL, rtol=0)
        if mode == "train":
            torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first,activation", list(itertools.product([False, True], ["relu", "gelu"])))
def test_decoder_layer_matches_torch(norm_first, activation):
    torch.manual_seed(3)
    cfg = _cfg(norm_first=norm_first, activation=activation)
    ours = DecoderLayer(cfg)
    _randomize(ours, 4)
    ref = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation=activation, batch_first=True,
                                     norm_first=norm_first)
    _copy_mha(ours.self_attn, ref.self_attn)
    _copy_mha(ours.cross_attn, ref.multihead_attn)
    _copy_ffn_norms(ours, ref, 3)
    B, S, T = 3, 7, 5
    y, mem = torch.randn(B, T, D), torch.randn(B, S, D)
    src_kpm, tgt_kpm = _pad_mask(B, S, [7, 4, 2]), _pad_mask(B, T, [5, 5, 3])
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    out = ours(y, mem, src_mask=~src_kpm[:, None, None, :],
               tgt_mask=~causal[None, None] & ~tgt_kpm[:, None, None, :])
    ref_out = ref(y, mem, tgt_mask=causal, tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=src_kpm)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    assert out.abs().max() > 0.1


def _copy_full(ours: Transformer, ref_tf: nn.Transformer):
    for ol, rl in zip(ours.encoder.layers, ref_tf.encoder.layers, strict=True):
        _copy_mha(ol.self_attn, rl.self_attn)
        _copy_ffn_norms(ol, rl, 2)
    for ol, rl in zip(ours.decoder.layers, ref_tf.decoder.layers, strict=True):
        _copy_mha(ol.self_attn, rl.self_attn)
        _copy_mha(ol.cross_attn, rl.multihead_attn)
        _copy_ffn_norms(ol, rl, 3)
    if ours.cfg.norm_first:
        ref_tf.encoder.norm.load_state_dict(ours.encoder.norm.state_dict())
        ref_tf.decoder.norm.load_state_dict(ours.decoder.norm.state_dict())
    else:   # post-LN: nn.Transformer always adds a final LayerNorm, the paper (and we) do not
        ref_tf.encoder.norm = nn.Identity()
        ref_tf.decoder.norm = nn.Identity()


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("norm_first", [False, True])
def test_full_model_matches_nn_transformer(norm_first):
    cfg = _cfg(norm_first=norm_first, activation="gelu")
    ours = Transformer(cfg)
    _randomize(ours.encoder, 5), _randomize(ours.decoder, 6)
    ref = nn.Transformer(D, H, 2, 2, FF, dropout=0.0, activation="gelu", batch_first=True,
                         norm_first=norm_first)
    _copy_full(ours, ref)
    src = torch.tensor([[5, 6, 7, 8, 9, 0, 0], [11, 12, 13, 14, 15, 16, 17]])
    tgt = torch.tensor([[1, 20, 21, 22, 0], [1, 30, 31, 32, 33]])
    S, T = src.shape[1], tgt.shape[1]
    logits = ours(src, tgt)
    # the same embedding / PE / projection around nn.Transformer
    x = ours.src_embed(src) * ours.emb_scale + ours.pe[:S]
    y = ours.tgt_embed(tgt) * ours.emb_scale + ours.pe[:T]
    src_kpm, tgt_kpm = src == 0, tgt == 0
    out = ref(x, y, tgt_mask=torch.ones(T, T, dtype=torch.bool).triu(1), src_key_padding_mask=src_kpm,
              tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=src_kpm)
    torch.testing.assert_close(logits, ours.generator(out), atol=ATOL, rtol=0)
