import torch


def sinusoidal_pe(T, d_model):
    """-> float (T, d_model): PE[p, 2i] = sin(p / 10000^(2i/d_model)), PE[p, 2i+1] = cos(same)."""
    pos = torch.arange(T, dtype=torch.float64)[:, None]                 # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)            # (d/2,)
    angle = pos / 10000 ** (two_i / d_model)                            # (T, d/2)
    pe = torch.zeros(T, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.float()
