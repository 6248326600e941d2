"""Training details: the warmup schedule, dropout in train vs eval, label smoothing."""
from __future__ import annotations

import numpy as np
import torch

from model import Transformer, TransformerConfig

# -- learning-rate schedule ("Noam") --------------------------------------------------------------

def noam_lr(step: np.ndarray | int, d_model: int, warmup: int, factor: float = 1.0) -> np.ndarray:
    """lr = factor · d_model^−0.5 · min(step^−0.5, step · warmup^−1.5), step ≥ 1."""
    step = np.maximum(np.asarray(step, dtype=np.float64), 1.0)
    return factor * d_model ** -0.5 * np.minimum(step ** -0.5, step * warmup ** -1.5)


def noam_peak(d_model: int, warmup: int) -> tuple[int, float]:
    """The maximum is at step = warmup, where both branches meet: d_model^−0.5 · warmup^−0.5."""
    return warmup, d_model ** -0.5 * warmup ** -0.5


def schedule_curves(d_model: int, warmup: int, points: int = 500
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, lr, warmup branch d^−0.5·step·w^−1.5, decay branch d^−0.5·step^−0.5) over
    `points` steps from 1 to max(10·warmup, 2000), the warmup step itself included."""
    end = max(10 * warmup, 2000)
    steps = np.unique(np.concatenate([np.linspace(1, end, points).round(), [warmup]])).astype(int)
    lr = noam_lr(steps, d_model, warmup)
    return steps, lr, d_model ** -0.5 * steps * warmup ** -1.5, d_model ** -0.5 * steps.astype(float) ** -0.5


# -- dropout: train vs eval -----------------------------------------------------------------------

def demo_model(dropout: float = 0.1) -> Transformer:
    cfg = TransformerConfig(src_vocab_size=40, tgt_vocab_size=40, d_model=32, n_heads=4, n_layers=2,
                            d_ff=64, dropout=dropout, seed=0)
    return Transformer(cfg)


def train_vs_eval(dropout: float = 0.1, seed: int = 0, n_show: int = 6) -> dict:
    """The same (src, tgt) through our model twice in train mode and twice in eval mode.

    Returns the first logits of position 0 for each call, the max differences between the two
    calls of each mode, and the share of exact zeros that dropout leaves in each sub-layer's output
    (what is added to the residual) in train mode vs eval mode."""
    net = demo_model(dropout)
    src = torch.tensor([[5, 9, 12, 7, 20, 3]])
    tgt = torch.tensor([[1, 8, 15, 6]])
    out: dict = {}
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for mode in ("train", "eval"):
            net.train(mode == "train")
            a, tr = net(src, tgt, trace=True)
            b = net(src, tgt)
            out[f"{mode}_1"] = a[0, 0, :n_show].numpy()
            out[f"{mode}_2"] = b[0, 0, :n_show].numpy()
            out[f"{mode}_diff"] = float((a - b).abs().max())
            rows = []
            for side, layers in (("enc", tr.encoder), ("dec", tr.decoder)):
                for i, layer in enumerate(layers):
                    for s in layer.sublayers:
                        rows.append((f"{side}{i}.{s.name}", float((s.sublayer_out == 0).double().mean())))
            out[f"{mode}_zeros"] = rows
    return out


# -- label smoothing -----------------------------------------------------------------------------

def logits_table(r: dict) -> np.ndarray:
    """The first logits of `train_vs_eval`'s four calls as rows: train 1, train 2, eval 1, eval 2."""
    return np.stack([r["train_1"], r["train_2"], r["eval_1"], r["eval_2"]])


def smoothed_target(K: int, eps: float, true_class: int = 0) -> np.ndarray:
    """PyTorch's CrossEntropyLoss(label_smoothing=ε) target: (1 − ε) on the true class plus ε/K
    on every class (so (1 − ε) + ε/K on the true class and ε/K elsewhere)."""
    q = np.full(K, eps / K)
    q[true_class] += 1.0 - eps
    return q


def smoothed_loss(logits: np.ndarray, target: np.ndarray, eps: float) -> float:
    """Mean over rows of −Σ_k q_k · log softmax(logits)_k with q = smoothed_target."""
    logits = np.asarray(logits, dtype=np.float64)
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    K = logits.shape[-1]
    q = np.stack([smoothed_target(K, eps, int(t)) for t in target])
    return float(-(q * logp).sum(-1).mean())


def torch_check(K: int, eps: float, rows: int = 4) -> tuple[float, float]:
    """(smoothed_loss, torch's CrossEntropyLoss(label_smoothing=ε)) on the same random logits
    (rows × K, seeded by K) and targets: the page's proof that both compute the same loss."""
    rng = np.random.default_rng(K)
    logits = rng.normal(size=(rows, K)) * 2
    target = rng.integers(0, K, size=rows)
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=eps)(torch.tensor(logits), torch.tensor(target))
    return smoothed_loss(logits, target, eps), float(theirs)


def best_achievable(K: int, eps: float) -> tuple[float, float]:
    """With smoothing the loss can't reach 0: its minimum is the target's entropy, reached when
    the prediction equals the target. Returns (min loss, max probability the model should give)."""
    q = smoothed_target(K, eps)
    q_pos = q[q > 0]
    return float(-(q_pos * np.log(q_pos)).sum()), float(q.max())
