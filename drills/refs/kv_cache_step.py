import math

import torch


def kv_cache_step(x, cache, w_q, w_k, w_v, n_heads):
    """x (B, 1, d); cache None or (k_cache, v_cache) each (B, h, t, d_k); w_* (d, d).
    Returns (out (B, 1, d), (k_cache, v_cache) each (B, h, t + 1, d_k))."""
    B, _, d = x.shape
    h, d_k = n_heads, d // n_heads
    q = (x @ w_q).view(B, 1, h, d_k).transpose(1, 2)                     # (B, h, 1, d_k)
    k = (x @ w_k).view(B, 1, h, d_k).transpose(1, 2)
    v = (x @ w_v).view(B, 1, h, d_k).transpose(1, 2)
    if cache is not None:
        k = torch.cat([cache[0], k], dim=2)                              # (B, h, t + 1, d_k)
        v = torch.cat([cache[1], v], dim=2)
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d_k), dim=-1)   # (B, h, 1, t + 1)
    out = (weights @ v).transpose(1, 2).reshape(B, 1, d)                 # (B, 1, d)
    return out, (k, v)
