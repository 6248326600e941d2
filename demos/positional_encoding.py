"""Positional encoding: the numbers behind the demo page (numpy float64, plus our model's init).

PE[pos, 2i] = sin(pos·ω_i), PE[pos, 2i+1] = cos(pos·ω_i), ω_i = 10000^(−2i/d).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from model import Transformer, TransformerConfig, sinusoidal_positional_encoding

CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "model" / "checkpoints"


def pe_table(length: int, d_model: int) -> np.ndarray:
    """(length, d_model) float64 sinusoidal table, from our model's own function."""
    return sinusoidal_positional_encoding(length, d_model, dtype=torch.float64).numpy()


def frequencies(d_model: int) -> np.ndarray:
    """ω_i = 10000^(−2i/d) for i = 0 … ceil(d/2) − 1 (one per sin/cos pair)."""
    two_i = np.arange(0, d_model, 2, dtype=np.float64)
    return 1.0 / np.power(10000.0, two_i / d_model)


def wavelengths(d_model: int) -> np.ndarray:
    """Wavelength of each dimension (length d): 2π·10000^(2i/d) for dims 2i and 2i+1."""
    lam = 2 * math.pi / frequencies(d_model)
    return np.repeat(lam, 2)[:d_model]


def dot_matrix(pe: np.ndarray) -> np.ndarray:
    """(L, L) matrix of PE(p)·PE(q)."""
    return pe @ pe.T


def dot_by_distance(k: np.ndarray | int, d_model: int) -> np.ndarray:
    """Closed form PE(p)·PE(p+k) = Σ_i cos(k·ω_i) (even d): depends only on the distance k."""
    if d_model % 2:
        raise ValueError("closed form needs an even d_model")
    k = np.asarray(k, dtype=np.float64)
    return np.cos(np.multiply.outer(k, frequencies(d_model))).sum(-1)


def diagonal_spread(mat: np.ndarray) -> float:
    """Largest max−min along any diagonal of a square matrix: 0 when entries depend only on q − p."""
    return max(float(np.ptp(np.diagonal(mat, k))) for k in range(len(mat)))


def closed_form_by_distance(length: int, d_model: int) -> np.ndarray:
    """PE(0)·PE(k) for k < length: the closed form for even d, else row 0 of the dot matrix."""
    if d_model % 2:
        return dot_matrix(pe_table(length, d_model))[0]
    return dot_by_distance(np.arange(length), d_model)


def cosine_matrix(table: np.ndarray) -> np.ndarray:
    """(L, L) cosine similarity of the rows of a (L, d) table (zero rows count as norm 1e-12)."""
    unit = table / np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def rotation_matrix(k: int, d_model: int) -> np.ndarray:
    """M_k (d, d) with PE(pos + k) = M_k · PE(pos): block-diagonal 2×2 rotations by k·ω_i.

    [sin(a+b), cos(a+b)] = [[cos b, sin b], [−sin b, cos b]] · [sin a, cos a]."""
    if d_model % 2:
        raise ValueError("the rotation identity needs an even d_model (sin/cos pairs)")
    m = np.zeros((d_model, d_model))
    for i, w in enumerate(frequencies(d_model)):
        c, s = math.cos(k * w), math.sin(k * w)
        m[2 * i: 2 * i + 2, 2 * i: 2 * i + 2] = [[c, s], [-s, c]]
    return m


def rotation_error(length: int, d_model: int, k: int) -> float:
    """max over pos < length − k and dims of |PE(pos + k) − M_k·PE(pos)| in float64."""
    if not 0 < k < length:
        raise ValueError("need 0 < k < length")
    pe = pe_table(length, d_model)
    pred = pe[:-k] @ rotation_matrix(k, d_model).T
    return float(np.abs(pe[k:] - pred).max())


def rotation_check(length: int, d_model: int, k: int) -> tuple[np.ndarray, float, float]:
    """(M_k, error of PE(pos + k) = M_k·PE(pos), error of the wrong way round, PE(pos)ᵀ·M_k)."""
    m = rotation_matrix(k, d_model)
    table = pe_table(length, d_model)
    wrong = float(np.abs(table[k:] - table[:-k] @ m).max())
    return m, rotation_error(length, d_model, k), wrong


def scale_stats(d_model: int, length: int = 16, seed: int = 0, vocab: int = 200) -> dict:
    """Norms of raw / scaled token embeddings and PE at our model's initialisation, and what the
    sum looks like with and without the × √d_model scale. One row per position."""
    cfg = TransformerConfig(src_vocab_size=vocab, tgt_vocab_size=vocab, d_model=d_model, n_heads=1,
                            n_layers=1, d_ff=8, max_len=max(length, 8), dropout=0.0, seed=seed)
    net = Transformer(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    src = torch.randint(4, vocab, (1, length), generator=g)
    with torch.no_grad():   # the model's own embedding step (what trace.embeddings["src"] records)
        raw_t = net.src_embed(src)[0]
        scaled_t = raw_t * net.emb_scale
        pos_t = net.pe[:length]
    raw, scaled, pos = (t.double().numpy() for t in (raw_t, scaled_t, pos_t))
    with_scale = scaled + pos
    without = raw + pos

    def norms(a: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a, axis=-1)

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b).sum(-1) / (norms(a) * norms(b))

    return {
        "scale": net.emb_scale,
        "raw": norms(raw), "scaled": norms(scaled), "pos": norms(pos),
        "sum_scaled": norms(with_scale), "sum_unscaled": norms(without),
        # how much the sum still "looks like" the position / the token
        "cos_pos_scaled": cos(with_scale, pos), "cos_pos_unscaled": cos(without, pos),
        "cos_tok_scaled": cos(with_scale, scaled), "cos_tok_unscaled": cos(without, raw),
        # share of the sum's energy (squared norm) that comes from the position
        "pe_share_scaled": norms(pos) ** 2 / (norms(scaled) ** 2 + norms(pos) ** 2),
        "pe_share_unscaled": norms(pos) ** 2 / (norms(raw) ** 2 + norms(pos) ** 2),
    }


def checkpoint_files(directory: Path | None = None) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """(directory, (name, mtime_ns, size) of each *.pt in it): changes whenever a checkpoint that
    `learned_pe_from_checkpoints` would read appears, changes or goes (a cache key for it)."""
    directory = CHECKPOINT_DIR if directory is None else directory
    if not directory.is_dir():
        return str(directory), ()
    files = []
    for path in sorted(directory.glob("*.pt")):
        try:
            st = path.stat()
        except OSError:
            continue
        files.append((path.name, st.st_mtime_ns, st.st_size))
    return str(directory), tuple(files)


def learned_pe_from_checkpoints(directory: Path | None = None) -> tuple[str, np.ndarray] | None:
    """(file name, (max_len, d) table) of the first checkpoint holding a learned `pos_embed`
    (directory defaults to model/checkpoints/)."""
    directory = CHECKPOINT_DIR if directory is None else directory
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.pt")):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception:  # noqa: BLE001 - a broken file is skipped, not fatal
            continue
        table = _find_pos_embed(obj)
        if table is not None:
            return path.name, table
    return None


def _find_pos_embed(obj: object, depth: int = 0) -> np.ndarray | None:
    if depth > 3:
        return None
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(key, str) and key.endswith("pos_embed") and isinstance(value, torch.Tensor):
                if value.dim() == 2:
                    return value.detach().double().numpy()
        for value in obj.values():
            if isinstance(value, dict | torch.nn.Module):
                found = _find_pos_embed(value, depth + 1)
                if found is not None:
                    return found
    return None
