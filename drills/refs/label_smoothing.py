import torch


def label_smoothed_ce(logits, target, eps=0.1, ignore_index=-100):
    """logits (N, V), target LongTensor (N,) -> scalar: mean over rows with target != ignore_index."""
    keep = target != ignore_index                                        # (N,)
    logp = logits.log_softmax(-1)                                        # (N, V)
    safe = torch.where(keep, target, torch.zeros_like(target))
    nll = -logp.gather(-1, safe[:, None]).squeeze(-1)                    # (N,)
    uniform = -logp.mean(-1)                                             # (N,) eps/V on every class
    loss = (1 - eps) * nll + eps * uniform
    return loss[keep].mean()
