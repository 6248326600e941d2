import torch


def apply_rope(x, positions, base=10000.0):
    """x (B, h, T, d), positions LongTensor (T,) -> (B, h, T, d).
    Interleaved pairs (x[..., 2i], x[..., 2i+1]) rotated by positions * base^(-2i/d)."""
    d = x.size(-1)
    theta = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)      # (d/2,)
    angle = positions.to(torch.float64)[:, None] * theta                    # (T, d/2)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]                                     # (B, h, T, d/2) each
    r1 = x1 * cos - x2 * sin
    r2 = x1 * sin + x2 * cos
    return torch.stack([r1, r2], dim=-1).flatten(-2)                        # interleave back
