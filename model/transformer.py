"""A small encoder-decoder Transformer ("Attention Is All You Need"), written from scratch.

PyTorch only: no nn.Transformer / nn.MultiheadAttention inside. Readable first (one file, the
paper's names, shape comments), and still about as fast as nn.Transformer on a CPU.

Shape letters: B batch, T sequence length (S source, T target), d = d_model, h = n_heads,
d_k = d_model // h, V vocabulary size.

API for demo pages
------------------
    from model import Transformer, TransformerConfig
    cfg = TransformerConfig(src_vocab_size=1000, tgt_vocab_size=1000)   # d_model=64, 4 heads, 2+2 layers
    net = Transformer(cfg).eval()          # same config (incl. seed) -> identical weights
    logits = net(src, tgt)                 # src (B, S), tgt (B, T) LongTensor -> (B, T, V)
    logits, tr = net(src, tgt, trace=True)

Weights by name: net.src_embed / net.tgt_embed (nn.Embedding), net.pe (sinusoidal buffer) or
net.pos_embed (learned), net.encoder.layers[i].self_attn.W_q / W_k / W_v / W_o (nn.Linear),
.ffn.W_1 / W_2, .res1.norm / .res2.norm (LayerNorm of each Add & Norm; decoder layers also have
.cross_attn and .res3), net.encoder.norm / net.decoder.norm (pre-LN only, else None),
net.generator (output projection, d -> V).

Masks are bool, True = "may attend", and broadcast against the scores (B, h, Tq, Tk):
    make_pad_mask(tokens, pad_id) -> (B, 1, 1, T)     make_causal_mask(T) -> (1, 1, T, T)
forward() builds them itself from cfg.pad_id (source: padding; target: causal AND padding).

Trace (all tensors detached; nothing is recorded when trace=False):
    tr.embeddings["src"|"tgt"]  dict: "tokens" (B,T), "raw" (B,T,d) token embedding,
                                "scaled" (× √d_model, or = raw), "pos" (T,d) positional encoding
                                (zeros for "none"), "sum" (B,T,d) = scaled + pos (before dropout)
    tr.encoder[i]  EncoderLayerTrace(self_attn: AttnTrace, sublayers: [SublayerTrace] * 2, ffn_hidden)
    tr.decoder[i]  DecoderLayerTrace(self_attn, cross_attn, sublayers: [SublayerTrace] * 3, ffn_hidden)
    tr.shapes      ordered [(step name, shape tuple)] of the real forward pass, e.g.
                   ("src tokens", (B,S)), ("src embedding", (B,S,d)), ..., ("enc0 Q", (B,h,S,d_k)),
                   ("enc0 scores", (B,h,S,S)), ..., ("logits", (B,T,V))
    tr.src_mask, tr.tgt_mask, tr.memory (encoder output), tr.decoder_out, tr.logits
    AttnTrace: q, k, v (B,h,T,d_k); scores = q·kᵀ (raw, unscaled) (B,h,Tq,Tk); scaled (÷√d_k, or
               = scores when cfg.scale_attention is False); masked (−inf where masked); weights
               (softmax; rows of fully-masked queries are all 0); context = weights @ v (B,h,Tq,d_k);
               output (after W_o) (B,Tq,d); mask (bool, as given, or None)
    SublayerTrace(name, x_in, sublayer_out, residual_sum, out, normed_in):
               post-LN: out = LayerNorm(x_in + Dropout(sublayer(x_in)))
               pre-LN:  out = x_in + Dropout(sublayer(LayerNorm(x_in)))   (normed_in = LayerNorm(x_in))

Fully-masked rows: a query whose keys are all masked (e.g. an all-<pad> sequence) has a row of
−inf scores, and softmax of that row is NaN (0/0). scaled_dot_product_attention zeroes the
weights of masked keys after the softmax; that changes nothing in normal rows (exp(−inf) = 0
already) and turns such NaN rows into all-zero rows, so their context is 0 instead of NaN.

Decoding: greedy_decode(src, bos_id, eos_id, max_len) and beam_search(src, bos_id, eos_id,
max_len, beam_size, length_penalty). src (S,) -> list[int]; greedy also takes (B, S) ->
list[list[int]]. The returned tokens exclude BOS and include EOS when it was produced; <pad> and
<bos> are never emitted. For display use model.vocab: HashVocab(size).to_tensor(text) maps any
typed sentence to (token strings, ids (1, T)).

Dropout (train mode only): on the embedding sum and on every sublayer output before the residual
add (the paper), plus on the attention weights and the FFN hidden layer (as the Annotated
Transformer and torch.nn do). In eval mode no dropout op is even called.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "TransformerConfig", "sinusoidal_positional_encoding", "make_pad_mask", "make_causal_mask",
    "scaled_dot_product_attention", "MultiHeadAttention", "PositionwiseFeedForward",
    "EncoderLayer", "DecoderLayer", "Encoder", "Decoder", "Transformer",
    "AttnTrace", "SublayerTrace", "EncoderLayerTrace", "DecoderLayerTrace", "Trace",
]


# ----------------------------------------------------------------------------------------------
# Config

@dataclass
class TransformerConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 256
    dropout: float = 0.1
    max_len: int = 128
    pos_encoding: Literal["sinusoidal", "learned", "none"] = "sinusoidal"
    norm_first: bool = False          # False: post-LN (the paper); True: pre-LN + final LayerNorms
    activation: Literal["relu", "gelu"] = "relu"
    scale_embedding: bool = True      # token embedding × √d_model (paper §3.4)
    scale_attention: bool = True      # scores ÷ √d_k (paper §3.2.1); False for the demo
    tie_embeddings: bool = False      # output projection shares the decoder embedding matrix
    pad_id: int = 0
    layer_norm_eps: float = 1e-5
    seed: int = 0                     # weights depend only on the config (incl. this seed)

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.pos_encoding not in ("sinusoidal", "learned", "none"):
            raise ValueError(f"unknown pos_encoding {self.pos_encoding!r}")
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"unknown activation {self.activation!r}")

    @property
    def d_k(self) -> int:
        return self.d_model // self.n_heads


# ----------------------------------------------------------------------------------------------
# Trace records (filled only when tracing)

@dataclass
class AttnTrace:
    q: Tensor                  # (B, h, Tq, d_k)
    k: Tensor                  # (B, h, Tk, d_k)
    v: Tensor                  # (B, h, Tk, d_k)
    scores: Tensor             # (B, h, Tq, Tk)  q·kᵀ, unscaled
    scaled: Tensor             # (B, h, Tq, Tk)  ÷ √d_k (= scores when scaling is off)
    masked: Tensor             # (B, h, Tq, Tk)  −inf where the mask is False
    weights: Tensor            # (B, h, Tq, Tk)  softmax over keys
    context: Tensor            # (B, h, Tq, d_k) weights @ v, per head
    output: Tensor             # (B, Tq, d)      heads concatenated, then W_o
    mask: Tensor | None     # bool, broadcastable to (B, h, Tq, Tk); True = attend


@dataclass
class SublayerTrace:
    name: str                  # "self_attn" | "cross_attn" | "ffn"
    x_in: Tensor               # (B, T, d) input of the residual block
    sublayer_out: Tensor       # (B, T, d) Dropout(sublayer(·)), what is added to x_in
    residual_sum: Tensor       # (B, T, d) x_in + sublayer_out
    out: Tensor                # (B, T, d) block output (post-LN: LayerNorm(residual_sum))
    normed_in: Tensor | None = None   # pre-LN only: LayerNorm(x_in), the sublayer's input


@dataclass
class EncoderLayerTrace:
    self_attn: AttnTrace
    sublayers: list[SublayerTrace]             # [self_attn, ffn]
    ffn_hidden: Tensor | None = None        # (B, T, d_ff) after the activation


@dataclass
class DecoderLayerTrace:
    self_attn: AttnTrace
    cross_attn: AttnTrace
    sublayers: list[SublayerTrace]             # [self_attn, cross_attn, ffn]
    ffn_hidden: Tensor | None = None


@dataclass
class Trace:
    encoder: list[EncoderLayerTrace] = field(default_factory=list)
    decoder: list[DecoderLayerTrace] = field(default_factory=list)
    shapes: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    embeddings: dict = field(default_factory=dict)   # {"src": {...}, "tgt": {...}}
    src_mask: Tensor | None = None
    tgt_mask: Tensor | None = None
    memory: Tensor | None = None                  # encoder output (B, S, d)
    decoder_out: Tensor | None = None             # (B, T, d)
    logits: Tensor | None = None                  # (B, T, V)

    def add(self, name: str, t: Tensor) -> None:
        self.shapes.append((name, tuple(t.shape)))


def _d(t: Tensor) -> Tensor:
    return t.detach()


# ----------------------------------------------------------------------------------------------
# Positional encoding and masks

def sinusoidal_positional_encoding(max_len: int, d_model: int, dtype=torch.float32) -> Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)). -> (max_len, d)"""
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)                # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)                     # (ceil(d/2),)
    angle = pos / torch.pow(10000.0, two_i / d_model)                            # (L, ceil(d/2))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(dtype)


def make_pad_mask(tokens: Tensor, pad_id: int = 0) -> Tensor:
    """(B, T) token ids -> bool (B, 1, 1, T), True where the key is a real token (may be attended)."""
    return (tokens != pad_id)[:, None, None, :]


def make_causal_mask(T: int, device=None) -> Tensor:
    """bool (1, 1, T, T), True on and below the diagonal: query i may attend keys j <= i."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril_()[None, None]


# ----------------------------------------------------------------------------------------------
# Attention

def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float,
            dropout_p: float = 0.0, training: bool = False, keep: bool = False):
    """Core of attention. scale is a float multiplier (1/√d_k, or 1.0). Returns (context, weights,
    scores, scaled, masked); the three middle tensors are None unless keep=True."""
    scores = q @ k.transpose(-2, -1)                                   # (B, h, Tq, Tk)
    scaled = scores * scale if scale != 1.0 else scores
    masked = torch.where(mask, scaled, float("-inf")) if mask is not None else scaled
    weights = torch.softmax(masked, dim=-1)                            # (B, h, Tq, Tk)
    if mask is not None:
        # NaN guard: softmax of an all -inf row is 0/0 = NaN. Masked keys already have weight
        # exactly 0 in every other row, so zeroing them again only touches fully-masked rows.
        weights = torch.where(mask, weights, 0.0)
    p = F.dropout(weights, dropout_p, True) if (training and dropout_p > 0.0) else weights
    context = p @ v                                                    # (B, h, Tq, d_k)
    if keep:
        return context, weights, scores, scaled, masked
    return context, weights, None, None, None


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                                 scale: bool = True) -> tuple[Tensor, Tensor]:
    """softmax(q kᵀ / √d_k, masked) v.  q (…, Tq, d_k), k/v (…, Tk, d_k), mask bool broadcastable
    to (…, Tq, Tk) with True = attend. Returns (context (…, Tq, d_k), weights (…, Tq, Tk)).
    Rows whose keys are all masked get all-zero weights (and a zero context) instead of NaN."""
    s = 1.0 / math.sqrt(q.size(-1)) if scale else 1.0
    context, weights, *_ = _attend(q, k, v, mask, s)
    return context, weights


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1..head_h) W_o,  head_i = Attention(Q W_q^i, K W_k^i, V W_v^i).
    W_q, W_k, W_v, W_o are separate nn.Linear(d, d) (with bias); head i uses rows i*d_k:(i+1)*d_k."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, scale: bool = True):
        super().__init__()
        assert d_model % n_heads == 0
        self.d_model, self.n_heads, self.d_k = d_model, n_heads, d_model // n_heads
        self.W_q = nn.Linear(d_model, d_model)
        self.W_k = nn.Linear(d_model, d_model)
        self.W_v = nn.Linear(d_model, d_model)
        self.W_o = nn.Linear(d_model, d_model)
        self.dropout = dropout          # on the attention weights (as the Annotated Transformer / torch)
        self.scale = scale

    def forward(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None,
                return_trace: bool = False):
        """query (B, Tq, d), key/value (B, Tk, d), mask bool broadcastable to (B, h, Tq, Tk).
        Returns output (B, Tq, d), or (output, AttnTrace) when return_trace=True."""
        B, Tq, _ = query.shape
        Tk = key.shape[1]
        h, d_k = self.n_heads, self.d_k
        q = self.W_q(query).view(B, Tq, h, d_k).transpose(1, 2)          # (B, h, Tq, d_k)
        k = self.W_k(key).view(B, Tk, h, d_k).transpose(1, 2)            # (B, h, Tk, d_k)
        v = self.W_v(value).view(B, Tk, h, d_k).transpose(1, 2)          # (B, h, Tk, d_k)
        s = 1.0 / math.sqrt(d_k) if self.scale else 1.0
        context, weights, scores, scaled, masked = _attend(
            q, k, v, mask, s, self.dropout, self.training, keep=return_trace)
        concat = context.transpose(1, 2).reshape(B, Tq, self.d_model)    # (B, Tq, d)
        out = self.W_o(concat)                                           # (B, Tq, d)
        if not return_trace:
            return out
        return out, AttnTrace(q=_d(q), k=_d(k), v=_d(v), scores=_d(scores), scaled=_d(scaled),
                              masked=_d(masked), weights=_d(weights), context=_d(context),
                              output=_d(out), mask=None if mask is None else _d(mask))


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = W_2 · Dropout(act(W_1 x + b_1)) + b_2, applied to each position independently."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, activation: str = "relu"):
        super().__init__()
        self.W_1 = nn.Linear(d_model, d_ff)
        self.W_2 = nn.Linear(d_ff, d_model)
        self.dropout = dropout
        self.activation = activation
        self._act = F.relu if activation == "relu" else F.gelu

    def forward(self, x: Tensor, return_hidden: bool = False):
        hidden = self._act(self.W_1(x))                                  # (B, T, d_ff)
        p = F.dropout(hidden, self.dropout, True) if (self.training and self.dropout > 0) else hidden
        out = self.W_2(p)                                                # (B, T, d)
        return (out, hidden) if return_hidden else out


# ----------------------------------------------------------------------------------------------
# Residual blocks, layers, stacks

class _Residual(nn.Module):
    """One "Add & Norm" block around a sublayer.
    post-LN (paper): out = LayerNorm(x + Dropout(sublayer(x)))
    pre-LN:          out = x + Dropout(sublayer(LayerNorm(x)))"""

    def __init__(self, d_model: int, dropout: float, norm_first: bool, eps: float):
        super().__init__()
        self.norm = nn.LayerNorm(d_model, eps=eps)
        self.dropout = dropout
        self.norm_first = norm_first

    def inp(self, x: Tensor) -> Tensor:
        """What the sublayer sees."""
        return self.norm(x) if self.norm_first else x

    def out(self, x: Tensor, y: Tensor) -> Tensor:
        """x: block input, y: sublayer output -> block output."""
        if self.training and self.dropout > 0:
            y = F.dropout(y, self.dropout, True)
        if self.norm_first:
            return x + y
        return self.norm(x + y)

    def traced_out(self, name: str, x: Tensor, xin: Tensor, y: Tensor) -> tuple[Tensor, SublayerTrace]:
        if self.training and self.dropout > 0:
            y = F.dropout(y, self.dropout, True)
        s = x + y
        o = s if self.norm_first else self.norm(s)
        return o, SublayerTrace(name, _d(x), _d(y), _d(s), _d(o), _d(xin) if self.norm_first else None)


class EncoderLayer(nn.Module):
    """x -> Add&Norm(self-attention) -> Add&Norm(FFN)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.scale_attention)
        self.ffn = PositionwiseFeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.activation)
        self.res1 = _Residual(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.res2 = _Residual(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)

    def forward(self, x: Tensor, mask: Tensor | None = None, trace: Trace | None = None,
                name: str = "enc") -> Tensor:
        """x (B, S, d), mask bool (B, 1, 1, S) -> (B, S, d)"""
        if trace is not None:
            return self._forward_traced(x, mask, trace, name)
        h = self.res1.inp(x)
        x = self.res1.out(x, self.self_attn(h, h, h, mask))
        x = self.res2.out(x, self.ffn(self.res2.inp(x)))
        return x

    def _forward_traced(self, x, mask, trace: Trace, name: str) -> Tensor:
        h = self.res1.inp(x)
        a, at = self.self_attn(h, h, h, mask, return_trace=True)
        _record_attn(trace, name, at)
        x, s1 = self.res1.traced_out("self_attn", x, h, a)
        trace.add(f"{name} add & norm 1", x)
        h = self.res2.inp(x)
        f, hidden = self.ffn(h, return_hidden=True)
        trace.add(f"{name} FFN hidden", hidden)
        trace.add(f"{name} FFN out", f)
        x, s2 = self.res2.traced_out("ffn", x, h, f)
        trace.add(f"{name} add & norm 2", x)
        trace.encoder.append(EncoderLayerTrace(at, [s1, s2], _d(hidden)))
        return x


class DecoderLayer(nn.Module):
    """y -> Add&Norm(masked self-attention) -> Add&Norm(cross-attention over memory) -> Add&Norm(FFN)."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.scale_attention)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.scale_attention)
        self.ffn = PositionwiseFeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.activation)
        self.res1 = _Residual(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.res2 = _Residual(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)
        self.res3 = _Residual(cfg.d_model, cfg.dropout, cfg.norm_first, cfg.layer_norm_eps)

    def forward(self, y: Tensor, memory: Tensor, src_mask: Tensor | None = None,
                tgt_mask: Tensor | None = None, trace: Trace | None = None,
                name: str = "dec") -> Tensor:
        """y (B, T, d), memory (B, S, d), src_mask (B, 1, 1, S), tgt_mask (B, 1, T, T) -> (B, T, d)"""
        if trace is not None:
            return self._forward_traced(y, memory, src_mask, tgt_mask, trace, name)
        h = self.res1.inp(y)
        y = self.res1.out(y, self.self_attn(h, h, h, tgt_mask))
        y = self.res2.out(y, self.cross_attn(self.res2.inp(y), memory, memory, src_mask))
        y = self.res3.out(y, self.ffn(self.res3.inp(y)))
        return y

    def _forward_traced(self, y, memory, src_mask, tgt_mask, trace: Trace, name: str) -> Tensor:
        h = self.res1.inp(y)
        a, sa = self.self_attn(h, h, h, tgt_mask, return_trace=True)
        _record_attn(trace, f"{name} self", sa)
        y, s1 = self.res1.traced_out("self_attn", y, h, a)
        trace.add(f"{name} add & norm 1", y)
        h = self.res2.inp(y)
        c, ca = self.cross_attn(h, memory, memory, src_mask, return_trace=True)
        _record_attn(trace, f"{name} cross", ca)
        y, s2 = self.res2.traced_out("cross_attn", y, h, c)
        trace.add(f"{name} add & norm 2", y)
        h = self.res3.inp(y)
        f, hidden = self.ffn(h, return_hidden=True)
        trace.add(f"{name} FFN hidden", hidden)
        trace.add(f"{name} FFN out", f)
        y, s3 = self.res3.traced_out("ffn", y, h, f)
        trace.add(f"{name} add & norm 3", y)
        trace.decoder.append(DecoderLayerTrace(sa, ca, [s1, s2, s3], _d(hidden)))
        return y


def _record_attn(trace: Trace, name: str, at: AttnTrace) -> None:
    trace.add(f"{name} Q", at.q)
    trace.add(f"{name} K", at.k)
    trace.add(f"{name} V", at.v)
    trace.add(f"{name} scores", at.scores)
    trace.add(f"{name} weights", at.weights)
    trace.add(f"{name} context", at.context)
    B, h, T, d_k = at.context.shape
    trace.shapes.append((f"{name} concat heads", (B, T, h * d_k)))
    trace.add(f"{name} attn out", at.output)


class Encoder(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.norm_first else None

    def forward(self, x: Tensor, mask: Tensor | None = None, trace: Trace | None = None) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, trace, f"enc{i}")
        if self.norm is not None:
            x = self.norm(x)
            if trace is not None:
                trace.add("enc final norm", x)
        return x


class Decoder(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps) if cfg.norm_first else None

    def forward(self, y: Tensor, memory: Tensor, src_mask: Tensor | None = None,
                tgt_mask: Tensor | None = None, trace: Trace | None = None) -> Tensor:
        for i, layer in enumerate(self.layers):
            y = layer(y, memory, src_mask, tgt_mask, trace, f"dec{i}")
        if self.norm is not None:
            y = self.norm(y)
            if trace is not None:
                trace.add("dec final norm", y)
        return y


# ----------------------------------------------------------------------------------------------
# The full model

class Transformer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        # Build under a forked RNG so construction never disturbs the caller's global RNG; the
        # weights come from a private generator seeded with cfg.seed (see _init_weights).
        with torch.random.fork_rng(devices=[]):
            self.src_embed = nn.Embedding(cfg.src_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
            self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
            if cfg.pos_encoding == "learned":
                self.pos_embed = nn.Parameter(torch.empty(cfg.max_len, cfg.d_model))
            else:
                self.pos_embed = None
            pe = (sinusoidal_positional_encoding(cfg.max_len, cfg.d_model)
                  if cfg.pos_encoding == "sinusoidal" else torch.zeros(cfg.max_len, cfg.d_model))
            self.register_buffer("pe", pe, persistent=False)
            self.encoder = Encoder(cfg)
            self.decoder = Decoder(cfg)
            self.generator = nn.Linear(cfg.d_model, cfg.tgt_vocab_size)   # output projection
        self.emb_scale = math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0
        self._init_weights()
        if cfg.tie_embeddings:
            self.generator.weight = self.tgt_embed.weight

    @torch.no_grad()
    def _init_weights(self) -> None:
        g = torch.Generator().manual_seed(self.cfg.seed)
        d = self.cfg.d_model
        for name, p in self.named_parameters():   # deterministic order -> deterministic weights
            if name.endswith("embed.weight"):
                p.normal_(0.0, d ** -0.5, generator=g)   # × √d at use -> unit-variance entries
                p[self.cfg.pad_id].zero_()
            elif name == "pos_embed":
                p.normal_(0.0, 0.02, generator=g)
            elif p.dim() > 1:
                nn.init.xavier_uniform_(p, generator=g)
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.zero_()

    # -- helpers ----------------------------------------------------------------------------

    def _embed(self, tokens: Tensor, table: nn.Embedding, trace: Trace | None, side: str) -> Tensor:
        T = tokens.shape[1]
        if T > self.cfg.max_len:
            raise ValueError(f"sequence length {T} exceeds max_len={self.cfg.max_len}")
        raw = table(tokens)                                              # (B, T, d)
        scaled = raw * self.emb_scale if self.emb_scale != 1.0 else raw
        pos = self.pos_embed[:T] if self.pos_embed is not None else self.pe[:T]   # (T, d)
        x = scaled + pos if self.cfg.pos_encoding != "none" else scaled  # (B, T, d)
        if trace is not None:
            trace.add(f"{side} tokens", tokens)
            trace.add(f"{side} embedding", raw)
            if self.emb_scale != 1.0:
                trace.add(f"{side} × √d_model", scaled)
            if self.cfg.pos_encoding != "none":
                trace.add(f"{side} + positional encoding", x)
            trace.embeddings[side] = {"tokens": _d(tokens), "raw": _d(raw), "scaled": _d(scaled),
                                      "pos": _d(pos), "sum": _d(x)}
        if self.training and self.cfg.dropout > 0:
            x = F.dropout(x, self.cfg.dropout, True)
        return x

    def make_src_mask(self, src: Tensor) -> Tensor:
        return make_pad_mask(src, self.cfg.pad_id)                       # (B, 1, 1, S)

    def make_tgt_mask(self, tgt: Tensor) -> Tensor:
        causal = make_causal_mask(tgt.shape[1], tgt.device)              # (1, 1, T, T)
        return make_pad_mask(tgt, self.cfg.pad_id) & causal              # (B, 1, T, T)

    # -- the paper's two halves ---------------------------------------------------------------

    def encode(self, src: Tensor, src_mask: Tensor | None = None,
               trace: Trace | None = None) -> Tensor:
        """src (B, S) -> memory (B, S, d). trace: a Trace to fill, or None."""
        x = self._embed(src, self.src_embed, trace, "src")
        memory = self.encoder(x, src_mask, trace)
        if trace is not None:
            trace.add("memory", memory)
            trace.memory = _d(memory)
            trace.src_mask = None if src_mask is None else _d(src_mask)
        return memory

    def decode(self, tgt: Tensor, memory: Tensor, src_mask: Tensor | None = None,
               tgt_mask: Tensor | None = None, trace: Trace | None = None) -> Tensor:
        """tgt (B, T), memory (B, S, d) -> decoder output (B, T, d) (before the output projection)."""
        y = self._embed(tgt, self.tgt_embed, trace, "tgt")
        out = self.decoder(y, memory, src_mask, tgt_mask, trace)
        if trace is not None:
            trace.decoder_out = _d(out)
            trace.tgt_mask = None if tgt_mask is None else _d(tgt_mask)
        return out

    def project(self, dec_out: Tensor) -> Tensor:
        """(B, T, d) -> logits (B, T, V)"""
        return self.generator(dec_out)

    def forward(self, src: Tensor, tgt: Tensor, trace: bool = False):
        """src (B, S), tgt (B, T) -> logits (B, T, V), or (logits, Trace) when trace=True."""
        tr = Trace() if trace else None
        src_mask = self.make_src_mask(src)
        tgt_mask = self.make_tgt_mask(tgt)
        memory = self.encode(src, src_mask, tr)
        logits = self.generator(self.decode(tgt, memory, src_mask, tgt_mask, tr))
        if tr is None:
            return logits
        tr.add("logits", logits)
        tr.logits = _d(logits)
        return logits, tr

    # -- decoding -------------------------------------------------------------------------------

    @torch.no_grad()
    def greedy_decode(self, src: Tensor, bos_id: int, eos_id: int, max_len: int = 32):
        """Pick the arg-max token at every step (<pad> and <bos> are never emitted).
        src (S,) -> list[int]; (B, S) -> list[list[int]].
        Tokens exclude BOS, include EOS if produced; at most max_len tokens each."""
        single = src.dim() == 1
        if single:
            src = src.unsqueeze(0)
        B = src.shape[0]
        src_mask = self.make_src_mask(src)
        memory = self.encode(src, src_mask)
        ys = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        max_len = min(max_len, self.cfg.max_len - 1)
        for _ in range(max_len):
            logits = self.generator(self.decode(ys, memory, src_mask, self.make_tgt_mask(ys))[:, -1])
            logits[:, [self.cfg.pad_id, bos_id]] = float("-inf")         # never emit <pad>/<bos>
            nxt = logits.argmax(-1)                                      # (B,)
            nxt = torch.where(done, torch.full_like(nxt, self.cfg.pad_id), nxt)
            ys = torch.cat([ys, nxt[:, None]], dim=1)
            done |= nxt == eos_id
            if bool(done.all()):
                break
        out = []
        for row in ys[:, 1:].tolist():
            seq = []
            for t in row:
                seq.append(t)
                if t == eos_id:
                    break
            out.append(seq)
        return out[0] if single else out

    @torch.no_grad()
    def beam_search(self, src: Tensor, bos_id: int, eos_id: int, max_len: int = 32,
                    beam_size: int = 4, length_penalty: float = 0.6, return_all: bool = False):
        """Beam search for one source sentence (S,) or (1, S). Hypotheses are ranked by
        log P(y) / lp(|y|) with the GNMT penalty lp(L) = ((5 + L) / 6) ** length_penalty
        (0 = no normalisation). Returns the best token list (excl. BOS, incl. EOS), or with
        return_all=True a list of (tokens, normalised score) best first.
        beam_size=1 gives exactly the greedy result."""
        if src.dim() == 2:
            if src.shape[0] != 1:
                raise ValueError("beam_search takes one sentence (batch size 1)")
            src = src[0]
        src = src.unsqueeze(0)                                           # (1, S)
        src_mask = self.make_src_mask(src)
        memory = self.encode(src, src_mask)                              # (1, S, d)
        def lp(length: int) -> float:                                   # GNMT length penalty
            return ((5.0 + length) / 6.0) ** length_penalty

        alive = [([bos_id], 0.0)]                                        # (tokens, log-prob)
        finished: list[tuple[list[int], float]] = []
        max_len = min(max_len, self.cfg.max_len - 1)
        for _ in range(max_len):
            ys = torch.tensor([t for t, _ in alive], dtype=torch.long, device=src.device)  # (k, t)
            k = ys.shape[0]
            mem = memory.expand(k, -1, -1)
            logits = self.generator(self.decode(ys, mem, src_mask, self.make_tgt_mask(ys))[:, -1])
            logits[:, [self.cfg.pad_id, bos_id]] = float("-inf")         # never emit <pad>/<bos>
            logp = torch.log_softmax(logits.float(), dim=-1)             # (k, V)
            total = logp + torch.tensor([s for _, s in alive], device=src.device)[:, None]
            V = total.shape[1]
            top_v, top_i = total.view(-1).topk(min(2 * beam_size, k * V))
            new_alive = []
            for score, idx in zip(top_v.tolist(), top_i.tolist(), strict=True):
                b, tok = divmod(idx, V)
                seq = alive[b][0] + [tok]
                if tok == eos_id:
                    finished.append((seq, score))
                else:
                    new_alive.append((seq, score))
                if len(new_alive) == beam_size:
                    break
            alive = new_alive
            if len(finished) >= beam_size or not alive:
                break
        pool = finished if len(finished) >= beam_size else finished + alive
        ranked = sorted(((s[1:], sc / lp(len(s) - 1)) for s, sc in pool), key=lambda x: -x[1])
        return ranked if return_all else ranked[0][0]
