"""Residual connections and gradient flow, measured with autograd (plain torch, no Streamlit).

Three measurements, each deterministic for a fixed seed:

* depth: a stack of simple blocks F(h) = tanh(W h + b) (PyTorch's default nn.Linear init, so each
  W has entries of variance 1/(3d)), either plain h ← F(h) or residual h ← h + F(h). The loss is a
  fixed linear read-out of the last hidden state; we report ‖∂L/∂W_l‖ for every layer l.
* rnn_vs_attention: ‖∂y_t/∂x_{t−k}‖ (Frobenius norm of the d×d Jacobian) against the distance k,
  for a vanilla tanh RNN and for one causal self-attention layer of our model.
* pre_post_ln: per-layer gradient norms at initialisation of stacks of OUR EncoderLayer
  (model.transformer, TransformerConfig(norm_first=False/True)), taken from a freshly built
  Transformer(cfg) so the weights are exactly the model's own seeded initialisation.
"""
from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from model import Transformer, TransformerConfig, make_causal_mask

MAX_DEPTH = 24
DEPTH_DEFAULT = 12


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny tensors: one intra-op thread is many times faster than several on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------------------------
# 1. Gradient reaching the first layer, with and without residual connections

@dataclass(frozen=True)
class BlockStack:
    """Weights of `depth` blocks (the first `n` of them form a stack of depth n) and the data."""
    weights: list[torch.Tensor]   # (d, d) each
    biases: list[torch.Tensor]    # (d,) each
    x: torch.Tensor               # (B, d) input
    readout: torch.Tensor         # (d,) the loss is mean_b(h_N[b] · readout)


def make_block_stack(depth: int = MAX_DEPTH, d: int = 32, batch: int = 16, seed: int = 0) -> BlockStack:
    g = torch.Generator().manual_seed(seed)
    bound = 1.0 / math.sqrt(d)              # nn.Linear's default: U(−1/√d, 1/√d)
    ws = [(torch.rand(d, d, generator=g, dtype=torch.float64) * 2 - 1) * bound for _ in range(depth)]
    bs = [(torch.rand(d, generator=g, dtype=torch.float64) * 2 - 1) * bound for _ in range(depth)]
    x = torch.randn(batch, d, generator=g, dtype=torch.float64)
    r = torch.randn(d, generator=g, dtype=torch.float64) / math.sqrt(d)
    return BlockStack(ws, bs, x, r)


def block_forward(stack: BlockStack, depth: int, residual: bool, weights=None) -> torch.Tensor:
    """The loss L = mean_b(h_depth · readout) of the first `depth` blocks."""
    ws = weights if weights is not None else stack.weights[:depth]
    h = stack.x
    for W, b in zip(ws, stack.biases[:depth], strict=True):
        f = torch.tanh(h @ W.T + b)
        h = h + f if residual else f
    return (h @ stack.readout).mean()


def block_grad_norms(stack: BlockStack, depth: int, residual: bool) -> np.ndarray:
    """‖∂L/∂W_l‖ (Frobenius) for l = 1..depth, by autograd."""
    ws = [w.clone().requires_grad_(True) for w in stack.weights[:depth]]
    loss = block_forward(stack, depth, residual, ws)
    grads = torch.autograd.grad(loss, ws)
    return np.array([float(g.norm()) for g in grads])


@functools.lru_cache(maxsize=4)
@_one_thread()
def block_profiles(max_depth: int = MAX_DEPTH, seed: int = 0) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{depth: (plain per-layer norms, residual per-layer norms)} for depth = 1..max_depth.
    Cached (the arrays are shared: do not modify them)."""
    stack = make_block_stack(max_depth, seed=seed)
    return {n: (block_grad_norms(stack, n, False), block_grad_norms(stack, n, True))
            for n in range(1, max_depth + 1)}


def first_layer_vs_depth(max_depth: int = MAX_DEPTH, seed: int = 0) -> dict[str, np.ndarray]:
    """{"depth": 1..max_depth, "plain": ‖∂L/∂W_1‖, "residual": ‖∂L/∂W_1‖} for every depth."""
    prof = block_profiles(max_depth, seed)
    depths = np.arange(1, max_depth + 1)
    return {"depth": depths, "plain": np.array([prof[n][0][0] for n in depths]),
            "residual": np.array([prof[n][1][0] for n in depths])}


# ----------------------------------------------------------------------------------------------
# 2. Vanilla RNN vs self-attention: how much does y_t depend on x_{t−k}?

RNN_GAINS = (0.5, 0.9, 1.2)


def _jacobian_norms(f, x: torch.Tensor) -> np.ndarray:
    """x (T, d); f(x) -> y_t (d,). Returns ‖∂y_t/∂x_{t−k}‖_F for k = 0..T−1 (k = 0 is x_t itself)."""
    J = torch.autograd.functional.jacobian(f, x)          # (d, T, d)
    per_pos = J.pow(2).sum(dim=(0, 2)).sqrt()              # (T,) position j
    return per_pos.flip(0).numpy().astype(np.float64)      # index k = t − j


@_one_thread()
def rnn_dependence(T: int = 32, d: int = 16, gain: float = 0.9, seed: int = 0) -> np.ndarray:
    """Vanilla RNN h_t = tanh(W_hh h_{t−1} + W_xh x_t + b), y_t = h_t, with W_hh entries of
    variance gain²/d (spectral radius ≈ gain). Returns ‖∂y_T/∂x_{T−k}‖ for k = 0..T−1."""
    g = torch.Generator().manual_seed(seed)
    W_hh = torch.randn(d, d, generator=g, dtype=torch.float64) * gain / math.sqrt(d)
    W_xh = torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    b = torch.zeros(d, dtype=torch.float64)
    x = torch.randn(T, d, generator=g, dtype=torch.float64)

    def f(xs: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(d, dtype=torch.float64)
        for t in range(T):
            h = torch.tanh(W_hh @ h + W_xh @ xs[t] + b)
        return h

    return _jacobian_norms(f, x)


def dependence(gain: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, RNN dependence at `gain`, attention dependence), k = 0..T−1: the page's comparison."""
    rnn = rnn_dependence(gain=gain)
    return np.arange(len(rnn)), rnn, attention_dependence()


@_one_thread()
def attention_dependence(T: int = 32, d: int = 16, n_heads: int = 2, seed: int = 0) -> np.ndarray:
    """One causal self-attention layer of our model (MultiHeadAttention from a seeded
    Transformer), y = Attn(x) at the last position t = T−1. Returns ‖∂y_t/∂x_{t−k}‖, k = 0..T−1."""
    cfg = TransformerConfig(src_vocab_size=8, tgt_vocab_size=8, d_model=d, n_heads=n_heads,
                            n_layers=1, d_ff=2 * d, dropout=0.0, seed=seed)
    attn = Transformer(cfg).decoder.layers[0].self_attn.double().eval()
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(T, d, generator=g, dtype=torch.float64)
    mask = make_causal_mask(T)

    def f(xs: torch.Tensor) -> torch.Tensor:
        xs = xs[None]
        return attn(xs, xs, xs, mask)[0, -1]

    return _jacobian_norms(f, x)


def path_lengths(n: int) -> dict[str, np.ndarray]:
    """Number of steps a signal travels between positions i and j = i + k (k = 1..n−1):
    recurrent k (O(n) in the worst case), self-attention 1 (O(1))."""
    k = np.arange(1, n)
    return {"distance": k, "rnn": k.astype(float), "attention": np.ones(n - 1)}


# ----------------------------------------------------------------------------------------------
# 3. Post-LN vs Pre-LN: per-layer gradient norms at initialisation of our EncoderLayer stacks

LN_DEPTHS = tuple(range(2, MAX_DEPTH + 1, 2))
LN_SEEDS = (0, 1, 2)
LN_BATCH, LN_LENGTH = 2, 10


def ln_config(depth: int, norm_first: bool, seed: int = 0, d_model: int = 64) -> TransformerConfig:
    return TransformerConfig(src_vocab_size=200, tgt_vocab_size=200, d_model=d_model, n_heads=4,
                             n_layers=depth, d_ff=4 * d_model, dropout=0.0, norm_first=norm_first,
                             seed=seed)


@functools.lru_cache(maxsize=8)
@_one_thread()
def ln_model(norm_first: bool, seed: int) -> Transformer:
    """Our Transformer with MAX_DEPTH layers. Its weights are drawn in parameter order (source
    embedding, encoder layer 0, 1, ...), so its first n encoder layers are exactly the encoder
    layers of Transformer(ln_config(n, ...)): one model serves every depth."""
    return Transformer(ln_config(MAX_DEPTH, norm_first, seed)).train()


def encoder_layer_grad_norms(depth: int, norm_first: bool, seed: int = 0) -> np.ndarray:
    """‖∂L/∂θ_l‖ (all parameters of encoder layer l, l = 1..depth) at initialisation, for the
    encoder of Transformer(ln_config(depth, norm_first, seed)).

    Input: random tokens through our embedding (× √d) + sinusoidal PE; the first `depth` encoder
    layers (pre-LN: then the encoder's final LayerNorm); loss: cross-entropy of random target
    tokens through the tied source-embedding matrix (an MLM-style read-out). Dropout is 0."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be in 1..{MAX_DEPTH}")
    net = ln_model(norm_first, seed)
    V = net.cfg.src_vocab_size
    g = torch.Generator().manual_seed(1000 + seed)
    src = torch.randint(4, V, (LN_BATCH, LN_LENGTH), generator=g)
    target = torch.randint(4, V, (LN_BATCH, LN_LENGTH), generator=g)
    mask = net.make_src_mask(src)
    layers = list(net.encoder.layers[:depth])
    with _one_thread():
        x = net._embed(src, net.src_embed, None, "src")                   # (B, S, d)
        for layer in layers:
            x = layer(x, mask)
        if net.encoder.norm is not None:
            x = net.encoder.norm(x)
        logits = x @ net.src_embed.weight.T                                # (B, S, V)
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), target.reshape(-1))
        params = [list(layer.parameters()) for layer in layers]
        grads = torch.autograd.grad(loss, [p for ps in params for p in ps])
    out, i = [], 0
    for ps in params:
        out.append(math.sqrt(sum(float(grads[i + j].pow(2).sum()) for j in range(len(ps)))))
        i += len(ps)
    return np.array(out)


@functools.lru_cache(maxsize=128)
def ln_profile(depth: int, norm_first: bool, seeds: tuple[int, ...] = LN_SEEDS) -> np.ndarray:
    """Per-layer gradient norms averaged over a few seeds (layer 1 = nearest the input).
    Cached (the arrays are shared: do not modify them)."""
    return np.mean([encoder_layer_grad_norms(depth, norm_first, s) for s in seeds], axis=0)


def ln_last_layer_vs_depth(depths: tuple[int, ...] = LN_DEPTHS,
                           seeds: tuple[int, ...] = LN_SEEDS) -> dict[str, np.ndarray]:
    """Gradient norm of the LAST encoder layer against depth, for Post-LN and Pre-LN."""
    post = [ln_profile(n, False, seeds)[-1] for n in depths]
    pre = [ln_profile(n, True, seeds)[-1] for n in depths]
    return {"depth": np.array(depths), "post": np.array(post), "pre": np.array(pre)}


_LN_LOCK = threading.Lock()
_warming: threading.Thread | None = None


@functools.lru_cache(maxsize=1)
def _ln_all() -> dict:
    profiles = {n: (ln_profile(n, False), ln_profile(n, True)) for n in LN_DEPTHS}
    curve = {"depth": np.array(LN_DEPTHS), "post": np.array([profiles[n][0][-1] for n in LN_DEPTHS]),
             "pre": np.array([profiles[n][1][-1] for n in LN_DEPTHS])}
    return {"profiles": profiles, "curve": curve}


def ln_all() -> dict:
    """Everything the Post-LN/Pre-LN view shows: {"profiles": {depth: (post, pre)} for LN_DEPTHS,
    "curve": last-layer norms against depth}. Computed once per process (a few seconds); callers
    wait for a computation already running (see warm_up)."""
    with _LN_LOCK:
        return _ln_all()


def ln_ready() -> bool:
    return _ln_all.cache_info().currsize > 0


def warm_up() -> threading.Thread | None:
    """Start computing ln_all() and block_profiles() in a background thread (plain Python, no UI),
    so that the page's first visit to those views finds them ready. Returns the thread, or None
    when everything is computed already."""
    global _warming
    if ln_ready() and block_profiles.cache_info().currsize > 0:
        return None
    if _warming is not None and _warming.is_alive():
        return _warming

    def work() -> None:
        block_profiles()
        ln_all()

    # Not a daemon: torch work abandoned at interpreter exit aborts the process
    # ("terminate called without an active exception"); exit waits for it instead.
    _warming = threading.Thread(target=work, name="residuals-warm-up", daemon=False)
    _warming.start()
    return _warming


def nearest_ln_depth(depth: int) -> int:
    """The measured depth (LN_DEPTHS) closest to `depth`, ties upward."""
    return min(LN_DEPTHS, key=lambda n: (abs(n - depth), -n))
