import torch


def rms_norm(x, weight, eps=1e-6):
    """x (..., d), weight (d,) -> (..., d): x / sqrt(mean(x^2, -1) + eps) * weight."""
    ms = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(ms + eps) * weight
