import math

import torch


def attention(q, k, v, mask=None):
    """q (B, h, Tq, d), k/v (B, h, Tk, d), mask bool broadcastable to (B, h, Tq, Tk), True = attend.
    Returns (output (B, h, Tq, d), weights (B, h, Tq, Tk))."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))          # (B, h, Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)                            # over the keys
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)                      # all-masked rows: NaN -> 0
    return weights @ v, weights                                        # (B, h, Tq, d), (B, h, Tq, Tk)
