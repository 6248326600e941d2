"""Sampling from next-token logits: pure functions, no model inside.

    probs, kept = filter_logits(logits, temperature=0.8, top_k=20, top_p=0.9)
    tok = sample(probs, torch.Generator().manual_seed(0))      # (..., 1)

Order (as Hugging Face's generate): temperature, then top-k, then top-p on what top-k kept.
`kept` is the bool mask of tokens that may still be drawn; `probs` is the softmax over them
(zeros elsewhere, sums to 1). All functions work on the last axis, any leading dims.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["apply_temperature", "top_k_mask", "top_p_mask", "filter_logits", "entropy", "sample"]


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """logits / T. T < 1 sharpens, T > 1 flattens; T must be > 0 (T -> 0 is greedy arg-max)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return logits / temperature


def top_k_mask(logits: Tensor, k: int | None) -> Tensor:
    """bool mask (same shape), True for the k largest logits (exactly k, ties by index order of topk).
    k None or >= V keeps everything."""
    V = logits.shape[-1]
    if k is None or k >= V:
        return torch.ones_like(logits, dtype=torch.bool)
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    idx = logits.topk(k, dim=-1).indices
    return torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, idx, True)


def top_p_mask(logits: Tensor, p: float | None) -> Tensor:
    """Nucleus (Holtzman et al. 2020): bool mask of the smallest set of most likely tokens whose
    total probability is >= p (always at least one token). Masked (-inf) logits are never kept.
    p None or >= 1 keeps every token with non-zero probability."""
    if p is None or p >= 1.0:
        return logits != float("-inf")
    if not p > 0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    probs = torch.softmax(logits, dim=-1)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(-1) - sorted_p                   # mass of the strictly better tokens
    keep_sorted = before < p                                  # first token: before = 0 < p
    keep_sorted &= sorted_p > 0
    keep_sorted[..., 0] = True
    return torch.zeros_like(keep_sorted).scatter_(-1, order, keep_sorted)


def filter_logits(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> tuple[Tensor, Tensor]:
    """-> (probs over the kept tokens (zeros elsewhere), kept bool mask). logits (..., V)."""
    z = apply_temperature(logits.float(), temperature)
    kept = top_k_mask(z, top_k)
    z = z.masked_fill(~kept, float("-inf"))
    if top_p is not None and top_p < 1.0:
        kept = kept & top_p_mask(z, top_p)
        z = z.masked_fill(~kept, float("-inf"))
    return torch.softmax(z, dim=-1), kept


def entropy(probs: Tensor, base: float = math.e) -> Tensor:
    """H(p) = -sum p log p over the last axis (0 log 0 = 0); nats by default, base=2 for bits."""
    logp = torch.where(probs > 0, probs.log(), torch.zeros_like(probs))
    h = -(probs * logp).sum(-1)
    return h / math.log(base) if base != math.e else h


def sample(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One draw per row: probs (..., V) -> token ids (..., 1) long."""
    flat = probs.reshape(-1, probs.shape[-1])
    out = torch.multinomial(flat, 1, generator=generator)
    return out.reshape(*probs.shape[:-1], 1)
