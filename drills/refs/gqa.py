import math

import torch


def gqa_attention(q, k, v, mask=None):
    """q (B, Hq, Tq, d), k/v (B, Hkv, Tk, d), Hq % Hkv == 0; mask bool broadcastable to (B, Hq, Tq, Tk).
    Returns (B, Hq, Tq, d); query head i uses kv head i // (Hq // Hkv)."""
    n_rep = q.size(1) // k.size(1)
    k = k.repeat_interleave(n_rep, dim=1)                                # (B, Hq, Tk, d)
    v = v.repeat_interleave(n_rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))            # (B, Hq, Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v
