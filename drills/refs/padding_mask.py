import torch


def padding_mask(lengths, T):
    """lengths LongTensor (B,) -> bool (B, 1, 1, T), True iff position j < lengths[b]."""
    keep = torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]   # (B, T)
    return keep[:, None, None, :]                                              # (B, 1, 1, T)
