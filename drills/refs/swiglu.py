import torch.nn.functional as F


def swiglu_ffn(x, w_gate, w_up, w_down):
    """x (B, T, d), w_gate/w_up (d, d_ff), w_down (d_ff, d) -> (B, T, d)."""
    return (F.silu(x @ w_gate) * (x @ w_up)) @ w_down
