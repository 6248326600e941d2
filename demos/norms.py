"""BatchNorm vs LayerNorm (and Instance/Group/RMS norm) written out in numpy.

Layout everywhere: x has shape (B, T, F) = (batch, sequence position, feature). No affine
parameters (γ = 1, β = 0): the demo is about which axes the statistics come from. Variances are
biased (÷ n), as every torch norm uses for normalising.
"""
from __future__ import annotations

import numpy as np
import torch

NORMS = ("batch", "layer", "instance", "group", "rms")
EPS = 1e-5


def sample(B: int = 4, T: int = 6, F: int = 8, seed: int = 0) -> np.ndarray:
    """A (B, T, F) tensor whose features have different means/scales (like real activations)."""
    rng = np.random.default_rng(seed)
    mu = np.linspace(-2.0, 3.0, F)
    sigma = np.linspace(0.5, 2.5, F)
    return rng.normal(mu, sigma, size=(B, T, F))


def reduce_axes(kind: str) -> tuple[int, ...]:
    """Axes of (B, T, F) one statistic is computed over (group norm: T plus features of a group)."""
    return {"batch": (0, 1), "layer": (2,), "instance": (1,), "group": (1, 2), "rms": (2,)}[kind]


def group_ids(kind: str, shape: tuple[int, int, int], groups: int = 2) -> np.ndarray:
    """For every cell of (B, T, F), the id of the statistic group it belongs to."""
    B, T, F = shape
    b, t, f = np.meshgrid(np.arange(B), np.arange(T), np.arange(F), indexing="ij")
    if kind == "batch":
        return f
    if kind in ("layer", "rms"):
        return b * T + t
    if kind == "instance":
        return b * F + f
    if kind == "group":
        return b * groups + f // (F // groups)
    raise ValueError(kind)


def batch_norm(x: np.ndarray, eps: float = EPS, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per feature over (B, T). mask (B, T) True = real token: statistics from real tokens only
    (None = every position counts, padding included). Returns (y, mean (F,), var (F,))."""
    if mask is None:
        mean = x.mean(axis=(0, 1))
        var = x.var(axis=(0, 1))
    else:
        real = x[mask]
        mean, var = real.mean(axis=0), real.var(axis=0)
    return (x - mean) / np.sqrt(var + eps), mean, var


def layer_norm(x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Per token over features."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def instance_norm(x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Per (sequence, feature) over positions (InstanceNorm1d on (B, F, T))."""
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def group_norm(x: np.ndarray, groups: int = 2, eps: float = EPS) -> np.ndarray:
    """Per (sequence, feature group) over positions and the group's features (GroupNorm on (B, F, T))."""
    B, T, F = x.shape
    g = x.reshape(B, T, groups, F // groups)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = g.var(axis=(1, 3), keepdims=True)
    return ((g - mean) / np.sqrt(var + eps)).reshape(B, T, F)


def rms_norm(x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Per token: x / sqrt(mean(x²) + eps), no centring."""
    return x / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)


def apply(kind: str, x: np.ndarray, groups: int = 2) -> np.ndarray:
    if kind == "batch":
        return batch_norm(x)[0]
    return {"layer": layer_norm, "instance": instance_norm, "rms": rms_norm,
            "group": lambda a: group_norm(a, groups)}[kind](x)


def per_feature_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each feature over (B, T)."""
    return x.mean(axis=(0, 1)), x.var(axis=(0, 1))


def per_token_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each token over features, flattened to (B·T,)."""
    return x.mean(axis=-1).ravel(), x.var(axis=-1).ravel()


# -- padding contamination -----------------------------------------------------------------------

def padded_batch(pad_share: float, B: int = 8, T: int = 20, F: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A batch where the last round(pad_share·T) positions of each sequence are padding (zeros)."""
    x = sample(B, T, F, seed)
    n_pad = min(T - 1, int(round(pad_share * T)))
    mask = np.ones((B, T), dtype=bool)
    if n_pad:
        mask[:, T - n_pad:] = False
    x = np.where(mask[..., None], x, 0.0)
    return x, mask


def padding_shift(pad_share: float, **kw) -> dict:
    """How padding moves the statistics used for the REAL tokens.

    BN computed naively over every position (as nn.BatchNorm1d does) vs over real tokens only;
    LN statistics of real tokens with padding present vs the same tokens alone (identical: LN never
    looks at other tokens). Returns mean |Δmean|, mean |Δvar| and max |Δoutput| over real tokens."""
    x, mask = padded_batch(pad_share, **kw)
    y_all, m_all, v_all = batch_norm(x)
    y_real, m_real, v_real = batch_norm(x, mask=mask)
    ln_with = layer_norm(x)[mask]
    ln_alone = layer_norm(x[mask][None])[0]
    return {
        "pad_share": float(1 - mask.mean()),
        "bn_mean_shift": float(np.abs(m_all - m_real).mean()),
        "bn_var_shift": float(np.abs(v_all - v_real).mean()),
        "bn_out_shift": float(np.abs(y_all[mask] - y_real[mask]).max()),
        "ln_out_shift": float(np.abs(ln_with - ln_alone).max()),
        "bn_mean_all": m_all, "bn_mean_real": m_real, "bn_var_all": v_all, "bn_var_real": v_real,
    }


def padding_shares() -> np.ndarray:
    """The padding shares of the page's curve: 0, 0.05, …, 0.95."""
    return np.round(np.arange(0.0, 0.951, 0.05), 2)


def padding_curve(shares: np.ndarray | None = None, **kw) -> dict[str, np.ndarray]:
    """`padding_shift` at every share (default `padding_shares()`), one array per statistic."""
    shares = padding_shares() if shares is None else shares
    rows = [padding_shift(float(s), **kw) for s in shares]
    return {k: np.array([r[k] for r in rows]) for k in
            ("pad_share", "bn_mean_shift", "bn_var_shift", "bn_out_shift", "ln_out_shift")}


# -- batch-statistic noise -----------------------------------------------------------------------

def batch_noise(batch_sizes: list[int], T: int = 1, draws: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """One feature ~ N(μ=3, σ=2). For each batch size B (≥ 2): std over `draws` random batches of
    the batch mean, and of one fixed token's BN output (its value depends on its batch-mates).
    Theory for the batch mean: σ/√(B·T)."""
    rng = np.random.default_rng(seed)
    mu, sigma, token = 3.0, 2.0, 5.0
    mean_std, out_std, out_vals = [], [], []
    for B in batch_sizes:
        batches = rng.normal(mu, sigma, size=(draws, B * T))
        mean_std.append(batches.mean(1).std())
        # the fixed token takes the place of one batch member; the others are its batch-mates
        full = np.concatenate([np.full((draws, 1), token), batches[:, 1:]], axis=1)
        m, v = full.mean(1), full.var(1)
        outs = (token - m) / np.sqrt(v + EPS)
        out_std.append(outs.std())
        out_vals.append(outs)
    return {"batch_sizes": np.array(batch_sizes), "mean_std": np.array(mean_std),
            "theory": sigma / np.sqrt(np.array(batch_sizes) * T), "out_std": np.array(out_std),
            "out_vals": out_vals, "token": token, "mu": mu, "sigma": sigma,
            "true_out": (token - mu) / sigma}


# -- train vs eval --------------------------------------------------------------------------------

def train_eval(steps: int, batch: int = 8, F: int = 4, momentum: float = 0.1, seed: int = 0) -> dict:
    """nn.BatchNorm1d trained for `steps` batches: running statistics vs the true ones, and the
    same input through train mode (batch statistics) and eval mode (running statistics).
    nn.LayerNorm gives the same output in both modes."""
    gen = torch.Generator().manual_seed(seed)
    mu = torch.linspace(-2.0, 3.0, F)
    sigma = torch.linspace(0.5, 2.0, F)
    bn = torch.nn.BatchNorm1d(F, momentum=momentum, affine=False)
    ln = torch.nn.LayerNorm(F, elementwise_affine=False)
    hist_mean = [bn.running_mean.clone()]
    with torch.no_grad():   # (also much faster: no autograd bookkeeping)
        bn.train()
        for _ in range(steps):
            xb = mu + sigma * torch.randn(batch, F, generator=gen)
            bn(xb)
            hist_mean.append(bn.running_mean.clone())
        probe = mu + sigma * torch.randn(3, F, generator=gen)       # a small batch of 3 tokens
        bn.eval()
        running_var = bn.running_var.clone().numpy()
        out_eval = bn(probe)                                        # running statistics
        bn.train()
        out_train = bn(probe)                                       # the probe batch's statistics
        bn.eval()                                                   # (and the running stats move)
        ln.train()
        ln_train = ln(probe)
        ln.eval()
        ln_eval = ln(probe)
    return {
        "running_mean_hist": torch.stack(hist_mean).numpy(), "true_mean": mu.numpy(),
        "running_var": running_var, "true_var": (sigma ** 2).numpy(),
        "probe": probe.numpy(), "out_train": out_train.numpy(), "out_eval": out_eval.numpy(),
        "ln_diff": float((ln_train - ln_eval).abs().max()),
        "bn_diff": float((out_train - out_eval).abs().max()),
    }
