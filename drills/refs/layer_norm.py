import torch


def layer_norm(x, gamma, beta, eps=1e-5):
    """x (..., d), gamma/beta (d,) -> (..., d): normalise over the last axis (biased variance)."""
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta
