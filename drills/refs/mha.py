import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads, self.d_k = n_heads, d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)

    def forward(self, q, k, v, mask=None):
        """q (B, Tq, d_model), k/v (B, Tk, d_model), mask bool broadcastable to (B, h, Tq, Tk).
        Returns (B, Tq, d_model)."""
        B, Tq, d_model = q.shape
        Tk = k.shape[1]
        h, d_k = self.n_heads, self.d_k
        q = self.w_q(q).view(B, Tq, h, d_k).transpose(1, 2)              # (B, h, Tq, d_k)
        k = self.w_k(k).view(B, Tk, h, d_k).transpose(1, 2)              # (B, h, Tk, d_k)
        v = self.w_v(v).view(B, Tk, h, d_k).transpose(1, 2)              # (B, h, Tk, d_k)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)                # (B, h, Tq, Tk)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = weights.masked_fill(~mask, 0.0)
        context = weights @ v                                            # (B, h, Tq, d_k)
        concat = context.transpose(1, 2).reshape(B, Tq, d_model)         # (B, Tq, d_model)
        return self.w_o(concat)
