import torch


def causal_mask(T):
    """-> bool (T, T), entry [i, j] True iff j <= i."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool))
