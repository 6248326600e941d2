"""Sampling demo: our LM's next-token distribution, temperature / top-k / top-p applied live
(model.sampling.filter_logits), the kept set, entropy, and repeated seeded samples."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.sampling import entropy, filter_logits

MAX_SAMPLES = 8
MAX_NEW = 120


@torch.no_grad()
def next_logits(net, ids: list[int]) -> torch.Tensor:
    """Logits (V,) of the token after `ids` (the last max_len tokens are used)."""
    ids = ids[-net.cfg.max_len:]
    return net(torch.tensor([ids]))[0, -1].float()


@dataclass
class Filtered:
    probs0: np.ndarray          # (V,) softmax of the raw logits (T = 1, nothing cut)
    probs: np.ndarray           # (V,) after temperature, top-k, top-p (zeros outside the kept set)
    kept: np.ndarray            # (V,) bool
    h0: float                   # entropy of probs0, bits
    h: float                    # entropy of probs, bits
    greedy: bool                # temperature 0: arg-max only

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())

    @property
    def kept_mass(self) -> float:
        """Probability the raw distribution puts on the kept set."""
        return float(self.probs0[self.kept].sum())

    def sorted_probs(self) -> np.ndarray:
        """The nonzero probabilities, largest first (the steps of the cumulative plot)."""
        return np.sort(self.probs[self.probs > 0])[::-1]


def apply(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> Filtered:
    """temperature 0 means greedy: only the arg-max is kept (the limit T → 0 of the softmax)."""
    probs0 = torch.softmax(logits, -1)
    if temperature <= 0:
        kept = torch.zeros_like(logits, dtype=torch.bool)
        kept[logits.argmax()] = True
        probs = kept.float()
    else:
        probs, kept = filter_logits(logits, temperature, top_k, top_p)
    # + 0.0 turns the -0.0 of a one-token distribution into 0.0
    return Filtered(probs0.numpy(), probs.numpy(), kept.numpy(), float(entropy(probs0, 2)) + 0.0,
                    float(entropy(probs, 2)) + 0.0, temperature <= 0)


def top_order(f: Filtered, n: int) -> np.ndarray:
    """Token ids of the n most likely tokens under the raw distribution (ties by id)."""
    return np.lexsort((np.arange(len(f.probs0)), -f.probs0))[:n]


@torch.no_grad()
def samples(net, ids: list[int], n: int, max_new: int, temperature: float, top_k: int | None,
            top_p: float | None, seed: int) -> list[list[int]]:
    """n continuations; sample j uses seed + j (so the same seed gives the same samples)."""
    n, max_new = min(n, MAX_SAMPLES), min(max_new, MAX_NEW)
    ids = ids[-(net.cfg.max_len - max_new):]
    idx = torch.tensor(ids)
    return [net.generate(idx, max_new, temperature=temperature, top_k=top_k, top_p=top_p,
                         seed=seed + j)[len(ids):].tolist() for j in range(n)]
