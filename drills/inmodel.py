"""Plug a learner's piece into our trained translation model (model/checkpoints/translate.pt) and
translate real sentences with it; the grader compares the result with our model's.

    with swapped(model, attention=fn): ...        # every MultiHeadAttention uses fn(q, k, v, mask)
    with swapped(model, mha_class=cls): ...       # every MultiHeadAttention is an instance of cls
    with swapped(model, layer_norm=fn): ...       # every nn.LayerNorm is fn(x, gamma, beta, eps)
    with swapped(model, pe=table): ...            # the sinusoidal table is replaced
    translate(model, sv, tv, "我 现在 爱 你", decode=None) -> ["I", "love", "you", "now"]

The model is a private copy per process (never the app's shared cached one), and everything is
put back on exit, even when the learner's code raises.
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

import torch
from torch import nn

from model.checkpoint import load_checkpoint
from model.transformer import MultiHeadAttention, Transformer
from model.vocab import Vocab

__all__ = ["SENTENCES", "translation_model", "swapped", "translate", "our_translation", "next_logits_fn"]

SENTENCES = ("我 现在 爱 你", "他 昨天 在 北京 吃 面条", "昨天 你 学 中文")


@functools.cache
def translation_model() -> tuple[Transformer, Vocab, Vocab]:
    model, (sv, tv), _ = load_checkpoint("translate", cached=False)
    return model.eval(), sv, tv


def _attention_forward(mod: MultiHeadAttention, attn: Callable) -> Callable:
    def forward(query, key, value, mask=None, return_trace=False):
        B, Tq, _ = query.shape
        Tk = key.shape[1]
        h, d_k = mod.n_heads, mod.d_k
        q = mod.W_q(query).view(B, Tq, h, d_k).transpose(1, 2)          # (B, h, Tq, d_k)
        k = mod.W_k(key).view(B, Tk, h, d_k).transpose(1, 2)
        v = mod.W_v(value).view(B, Tk, h, d_k).transpose(1, 2)
        out = attn(q, k, v, mask)
        context = out[0] if isinstance(out, (tuple, list)) else out      # (B, h, Tq, d_k)
        context = context.to(query.dtype)                                # a float64 solution is fine
        return mod.W_o(context.transpose(1, 2).reshape(B, Tq, mod.d_model))
    return forward


def load_mha_weights(learner: nn.Module, ours: MultiHeadAttention) -> None:
    """Copy our W_q/W_k/W_v/W_o into the learner's w_q/w_k/w_v/w_o (AttributeError / RuntimeError
    when the learner's module does not have them with the right shapes)."""
    with torch.no_grad():
        for mine, theirs in (("W_q", "w_q"), ("W_k", "w_k"), ("W_v", "w_v"), ("W_o", "w_o")):
            src, dst = getattr(ours, mine), getattr(learner, theirs)
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)


@contextlib.contextmanager
def swapped(model: Transformer, *, attention: Callable | None = None, mha_class: type | None = None,
            layer_norm: Callable | None = None, pe: torch.Tensor | None = None) -> Iterator[Transformer]:
    patched: list[nn.Module] = []
    old_pe = model.pe
    try:
        for mod in model.modules():
            if isinstance(mod, MultiHeadAttention) and attention is not None:
                mod.forward = _attention_forward(mod, attention)
                patched.append(mod)
            elif isinstance(mod, MultiHeadAttention) and mha_class is not None:
                theirs = mha_class(mod.d_model, mod.n_heads)
                load_mha_weights(theirs, mod)
                theirs.eval()
                mod.forward = (lambda m: lambda query, key, value, mask=None, return_trace=False:
                               m(query, key, value, mask).to(query.dtype))(theirs)
                patched.append(mod)
            elif isinstance(mod, nn.LayerNorm) and layer_norm is not None:
                mod.forward = (lambda m: lambda x: layer_norm(x, m.weight.detach().clone(),
                                                              m.bias.detach().clone(), m.eps).to(x.dtype))(mod)
                patched.append(mod)
        if pe is not None:
            model.pe = pe
        yield model
    finally:
        for mod in patched:
            mod.__dict__.pop("forward", None)
        model.pe = old_pe


def _src(sv: Vocab, text: str) -> torch.Tensor:
    return torch.tensor([sv.token_to_id(t) for t in text.split()], dtype=torch.long)


def next_logits_fn(model: Transformer, sv: Vocab, tv: Vocab, text: str) -> Callable[[list[int]], torch.Tensor]:
    """prefix ids -> next-token logits (V,) of our model for this source sentence (<pad>/<bos> banned)."""
    src = _src(sv, text)[None]
    src_mask = model.make_src_mask(src)
    memory = model.encode(src, src_mask)

    def next_logits(prefix: list[int]) -> torch.Tensor:
        ys = torch.tensor([list(prefix)], dtype=torch.long)
        with torch.no_grad():
            logits = model.generator(model.decode(ys, memory, src_mask, model.make_tgt_mask(ys))[0, -1]).clone()
        logits[[model.cfg.pad_id, tv.bos_id]] = float("-inf")
        return logits
    return next_logits


@functools.cache
def our_translation(text: str) -> tuple[str, ...]:
    """Our model's own greedy translation of a sentence (cached)."""
    model, sv, tv = translation_model()
    return tuple(translate(model, sv, tv, text))


@torch.no_grad()
def translate(model: Transformer, sv: Vocab, tv: Vocab, text: str, decode: Callable | None = None) -> list[str]:
    """Greedy translation (ours, or the learner's decode(next_logits, bos, eos, max_len)); no <eos>."""
    max_len = model.cfg.max_len - 1
    if decode is None:
        ids = model.greedy_decode(_src(sv, text), tv.bos_id, tv.eos_id, max_len)
    else:
        ids = decode(next_logits_fn(model, sv, tv, text), tv.bos_id, tv.eos_id, max_len)
    words = [tv.id_to_token(int(i)) for i in list(ids)[:max_len]]
    return [w for w in words if w != "<eos>"]


# ----------------------------------------------------------------------------------------------
# The decoder-only language model (model/decoder.py, model/checkpoints/lm.pt)

LM_TEXT = "注意力机制让每个位置都能看到前面的所有位置。Multi-head attention lets each head look at the past."


@functools.cache
def language_model():
    """A private copy of our trained character LM: (DecoderLM, CharTokenizer)."""
    from model.checkpoint import load_lm
    lm, tok = load_lm("lm", cached=False)
    return lm.eval(), tok


def _lm_attention_forward(mod, base: float, rope_fn: Callable | None, gqa_fn: Callable | None) -> Callable:
    from model import decoder as dec

    def forward(x, rope=None, alibi=None, cache=None, layer=0, return_attn=False):
        B, T, _ = x.shape
        h, g, d_h = mod.n_heads, mod.n_kv_heads, mod.d_head
        q = mod.W_q(x).view(B, T, h, d_h).transpose(1, 2)                # (B, h, T, d_h)
        k = mod.W_k(x).view(B, T, g, d_h).transpose(1, 2)                # (B, g, T, d_h)
        v = mod.W_v(x).view(B, T, g, d_h).transpose(1, 2)
        if rope is not None:                                              # the model uses RoPE: ours or yours
            pos = torch.arange(T)
            fn = rope_fn if rope_fn is not None else (lambda t, p, b: dec.apply_rope(t, base=b, positions=p))
            q, k = fn(q, pos, base).to(x.dtype), fn(k, pos, base).to(x.dtype)
        if gqa_fn is not None:
            y = gqa_fn(q, k, v, dec.causal_mask(T, T)).to(x.dtype)       # (B, h, T, d_h)
        else:
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=T > 1, enable_gqa=g != h)
        return mod.W_o(y.transpose(1, 2).reshape(B, T, h * d_h)), None
    return forward


@contextlib.contextmanager
def swapped_lm(lm, *, rope: Callable | None = None, gqa: Callable | None = None,
               rms_norm: Callable | None = None, swiglu: Callable | None = None):
    """Our LM with the learner's RoPE / GQA attention / RMSNorm / SwiGLU (no KV cache: whole-text forward)."""
    from model import decoder as dec
    patched: list[nn.Module] = []
    try:
        for mod in lm.modules():
            if isinstance(mod, dec.CausalSelfAttention) and (rope is not None or gqa is not None):
                mod.forward = _lm_attention_forward(mod, lm.cfg.rope_base, rope, gqa)
            elif isinstance(mod, dec.RMSNorm) and rms_norm is not None:
                mod.forward = (lambda m: lambda x: rms_norm(x, m.weight.detach().clone(), m.eps).to(x.dtype))(mod)
            elif isinstance(mod, dec.SwiGLU) and swiglu is not None:
                mod.forward = (lambda m: lambda x: swiglu(x, m.W_1.weight.detach().t(), m.W_3.weight.detach().t(),
                                                         m.W_2.weight.detach().t()).to(x.dtype))(mod)
            else:
                continue
            patched.append(mod)
        yield lm
    finally:
        for mod in patched:
            mod.__dict__.pop("forward", None)


@torch.no_grad()
def lm_logits(lm, tok, text: str = LM_TEXT) -> torch.Tensor:
    """Next-character logits (T, V) of the LM over `text` in one forward pass."""
    idx = torch.tensor([tok.encode(text)], dtype=torch.long)
    return lm(idx)[0]


@functools.cache
def our_lm_logits() -> torch.Tensor:
    lm, tok = language_model()
    return lm_logits(lm, tok)
