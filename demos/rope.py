"""RoPE demo: the numbers behind the page (plain torch / numpy, no Streamlit).

Rotary position embedding (Su et al., RoFormer) splits a head's d dimensions into d/2 pairs
(2i, 2i+1) and rotates pair i of the query/key at position m by the angle m·θ_i, θ_i = base^(-2i/d).
Because a rotation by mθ followed by one by −nθ is a rotation by (m−n)θ,
    (R_m q)·(R_n k) = q·R_{n−m} k        — the score depends on n − m only.

* rotation: each pair's 2-D point for positions 0..L (fast pairs spin, slow pairs barely move);
* distance: the score of q = k = 1 as a function of the distance (it decays, with ripples), and the
  RoFormer bound (mean over j of |Σ_{i<j} e^{i·Δ·θ_i}|);
* shift: q·k at (m, n) and at (m + s, n + s) with our model's apply_rope: equal up to float error;
* extrapolation / interpolation: perplexity of our LMs past the trained length (see `perplexity_table`).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from model.lm_data import corpus

BASE = 10000.0


def thetas(d_head: int, base: float = BASE) -> np.ndarray:
    """θ_i = base^(-2i/d), i = 0..d/2-1 (radians per position)."""
    return base ** (-np.arange(0, d_head, 2, dtype=np.float64) / d_head)


def wavelengths(d_head: int, base: float = BASE) -> np.ndarray:
    """Positions per full turn of each pair: 2π/θ_i."""
    return 2 * np.pi / thetas(d_head, base)


def pair_points(d_head: int, length: int, pairs: list[int], base: float = BASE,
                scale: float = 1.0) -> np.ndarray:
    """The unit vector (1, 0) of each chosen pair rotated to positions 0..length-1: (len(pairs), length, 2).
    `scale` < 1 is position interpolation (angles of position m·scale)."""
    th = thetas(d_head, base)[pairs]                           # (P,)
    ang = np.arange(length, dtype=np.float64)[None, :] * scale * th[:, None]   # (P, L)
    return np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def rotation_pairs(d_head: int) -> list[int]:
    """The pairs the rotation view draws: the two fastest, a quarter and half way, the slowest."""
    half = d_head // 2
    return sorted({0, 1, half // 4, half // 2, half - 1})


def score_vs_distance(d_head: int, max_dist: int, base: float = BASE) -> np.ndarray:
    """(R_0 q)·(R_Δ k) / d for q = k = (1, ..., 1): (1/d)·Σ_i 2cos(Δθ_i), Δ = 0..max_dist."""
    delta = np.arange(max_dist + 1, dtype=np.float64)[:, None]
    return (2 * np.cos(delta * thetas(d_head, base)[None, :])).sum(1) / d_head


def roformer_bound(d_head: int, max_dist: int, base: float = BASE) -> np.ndarray:
    """RoFormer §3.4.3: (1/(d/2))·Σ_j |S_j|, S_j = Σ_{i<j} e^{iΔθ_i}: the relative upper bound
    of the score, which decays with the distance Δ."""
    delta = np.arange(max_dist + 1, dtype=np.float64)[:, None]
    e = np.exp(1j * delta * thetas(d_head, base)[None, :])      # (Δ, d/2)
    s = np.cumsum(e, axis=1)
    return np.abs(s).mean(axis=1)


def distance_curves(d_head: int, max_dist: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Δ = 1..max_dist, score of q = k = 1, RoFormer bound ÷ (d/2)) for the distance plot."""
    delta = np.arange(max_dist + 1)
    return delta[1:], score_vs_distance(d_head, max_dist)[1:], (roformer_bound(d_head, max_dist) / (d_head / 2))[1:]


def rope_reference(x: torch.Tensor, positions: torch.Tensor, base: float = BASE) -> torch.Tensor:
    """An independent formula: rotate pairs (2i, 2i+1) of x (..., T, d) by positions·θ_i with complex numbers."""
    d = x.shape[-1]
    th = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = positions.to(torch.float64)[:, None] * th[None, :]            # (T, d/2)
    z = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    out = torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang))
    return out.reshape(x.shape).to(x.dtype)


def rotate_at(x: torch.Tensor, pos: int, base: float = BASE) -> torch.Tensor:
    """One vector x (d,) rotated to position `pos` with the reference formula."""
    return rope_reference(x[None, :], torch.tensor([pos]), base)[0]


# ----------------------------------------------------------------------------------------------
# Shift check: the score depends on the distance only

SHIFTS_CHECKED = 64


def shift_check(d_head: int, m: int, n: int, shift: int, seed: int = 0, base: float = BASE) -> dict[str, float]:
    """Random q, k (d,): the score at positions (m, n) and at (m + s, n + s) through our model's
    apply_rope, and the largest difference over every shift s' in 0..SHIFTS_CHECKED; plus our
    apply_rope against the independent complex-number formula."""
    from model.decoder import apply_rope

    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, d_head, generator=g)

    def score(a: int, b: int) -> float:
        qa = apply_rope(q[None, None, None, :], base=base, positions=torch.tensor([a]))[0, 0, 0]
        kb = apply_rope(k[None, None, None, :], base=base, positions=torch.tensor([b]))[0, 0, 0]
        return float(qa @ kb)

    s0, s1 = score(m, n), score(m + shift, n + shift)
    worst = max(abs(score(m + s, n + s) - s0) for s in range(SHIFTS_CHECKED + 1))
    pos = torch.arange(0, 64)
    x = torch.randn(1, 1, 64, d_head, generator=g)
    ours = apply_rope(x, base=base, positions=pos)
    ref = rope_reference(x, pos, base)
    return {"score": s0, "shifted": s1, "diff": abs(s1 - s0), "worst": worst,
            "vs_reference": float((ours - ref).abs().max()), "unrotated": float(q @ k)}


@torch.no_grad()
def model_shift_check(net, ids: list[int], shift: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Our LM's first layer: the RoPE scores q_i·k_j of head 0 for the tokens at positions 0..T-1 and
    at shift..shift+T-1 -> (scores, shifted scores, max |difference|). Only for pos='rope'."""
    from model.decoder import apply_rope

    blk = net.blocks[0]
    cfg = net.cfg
    x = blk.norm1(net.tok_emb(torch.tensor([ids])))                          # (1, T, d)
    T = len(ids)
    q = blk.attn.W_q(x).view(1, T, cfg.n_heads, cfg.d_head).transpose(1, 2)[:, :1]      # (1, 1, T, d_h)
    k = blk.attn.W_k(x).view(1, T, cfg.n_kv_heads, cfg.d_head).transpose(1, 2)[:, :1]
    pos = torch.arange(T)

    def scores(p):
        qr = apply_rope(q, base=cfg.rope_base, positions=p)
        kr = apply_rope(k, base=cfg.rope_base, positions=p)
        return (qr @ kr.transpose(-2, -1))[0, 0] / cfg.d_head ** 0.5

    a, b = scores(pos), scores(pos + shift)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    a, b = a.masked_fill(~causal, float("nan")), b.masked_fill(~causal, float("nan"))
    diff = float((a - b).abs()[causal].max())
    return a.numpy(), b.numpy(), diff


# ----------------------------------------------------------------------------------------------
# Extrapolation past the trained length, and position interpolation

MULTIPLES = (1, 2, 4)


def _rope_scaled(net, scale: float):
    """A `_rope(offset, T, device)` for `net` whose position p is taken as p·scale (interpolation),
    in the same format as the model's own table (complex (T, 1, d_h/2), or interleaved cos/sin tables)."""
    from model.decoder import rope_angles

    original = net._rope
    complex_table = not isinstance(original(0, 1, "cpu"), tuple)

    def _rope(offset: int, T: int, device):
        pos = torch.arange(offset, offset + T, dtype=torch.float64) * scale
        cos, sin = rope_angles(T, net.cfg.d_head, net.cfg.rope_base, positions=pos)
        if complex_table:
            return torch.complex(cos, sin).to(device)[:, None, :]                # (T, 1, d_h/2)
        return cos.repeat_interleave(2, -1).to(device), sin.repeat_interleave(2, -1).to(device)

    return _rope


def interpolated(net, scale: float):
    """A copy of a RoPE model that uses position interpolation (Chen et al. 2023): positions are
    multiplied by `scale` = trained length / new length, so every angle stays in the trained range."""
    import copy

    twin = copy.deepcopy(net)
    twin._rope = _rope_scaled(twin, scale)
    return twin


@torch.no_grad()
def loss_by_position(net, ids: torch.Tensor, ctx_len: int, windows: int) -> np.ndarray:
    """Mean cross-entropy (nats) at every position 0..ctx_len-1 over `windows` consecutive windows
    of held-out text -> (ctx_len,)."""
    import torch.nn.functional as F

    n = min(windows, (ids.numel() - 1) // ctx_len)
    starts = torch.arange(n) * ctx_len
    rows = ids[starts[:, None] + torch.arange(ctx_len + 1)[None, :]]          # (n, ctx_len + 1)
    total = torch.zeros(ctx_len, dtype=torch.float64)
    for i in range(0, n, 8):
        x, y = rows[i: i + 8, :-1], rows[i: i + 8, 1:]
        logits = net(x)
        ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")      # (b, ctx_len)
        total += ce.sum(0).double()
    return (total / n).numpy()


def ppl(loss: np.ndarray, lo: int = 0, hi: int | None = None) -> float:
    """exp(mean loss) over positions lo..hi-1."""
    return float(np.exp(np.mean(loss[lo:hi])))


EXTRAP_MODELS = ("lm-rope-small", "lm-sinusoidal", "lm-learned", "lm-alibi")
EXTRAP_WINDOWS = 6
PI_MODEL = "lm-rope-small"


def trained_length(info: dict, cfg) -> int:
    """The context length a checkpoint was trained on (its meta), else the config's max_len."""
    tc = info.get("train_config") or {}
    for key in ("ctx_len", "block_size", "seq_len"):
        if info.get(key):
            return int(info[key])
        if tc.get(key):
            return int(tc[key])
    return int(cfg.max_len)


def heldout_ids(tok) -> torch.Tensor:
    """The LM corpus's held-out text as token ids (1-D)."""
    return torch.tensor(tok.encode(corpus()[1]), dtype=torch.long)


def extrapolation_of(live) -> dict[int, dict]:
    """`extrapolation` of a loaded LM (demos.llm.LiveLM) on the held-out text, at its trained length."""
    return extrapolation(live.net, heldout_ids(live.tok), trained_length(live.info, live.cfg))


def interpolation_of(live) -> dict[int, float]:
    """Perplexity with position interpolation over m × the trained length, for each multiple m > 1."""
    L = trained_length(live.info, live.cfg)
    ids = heldout_ids(live.tok)
    return {m: ppl(loss_by_position(interpolated(live.net, 1 / m), ids, m * L, EXTRAP_WINDOWS))
            for m in MULTIPLES[1:]}


def ppl_row(result: dict[int, dict]) -> list[float | None]:
    """Perplexity at each multiple of an `extrapolation` result (None where the model cannot run)."""
    return [result[m]["ppl"] for m in MULTIPLES]


def pi_row(plain: dict[int, dict], pi: dict[int, float]) -> list[float]:
    """Perplexity with interpolation at each multiple (at 1× it is the plain model)."""
    return [plain[1]["ppl"]] + [pi[m] for m in MULTIPLES[1:]]


def bar_cap(rows: Iterable[list[float | None]], default: float = 10.0) -> float:
    """Top of the perplexity bars' axis: the largest value, but at most 4× the smallest."""
    finite = [v for row in rows for v in row if v is not None]
    return float(min(max(finite), 4 * min(finite))) if finite else default


def pi_pairs(d_head: int, train_len: int) -> list[int]:
    """The two pairs whose turn (2π/θ_i) is nearest 1.5 L and 3 L: longer than the trained length L
    but shorter than 4 L, so plain extrapolation takes them to angles never seen in training."""
    lam = wavelengths(d_head)
    return sorted(int(np.argmin(np.abs(lam - f * train_len))) for f in (1.5, 3.0))


def pi_points(d_head: int, train_len: int, pairs: list[int]) -> np.ndarray:
    """The pairs' points over 4 L positions, plain then interpolated (scale 1/4): (2·P, 4L, 2)."""
    n = 4 * train_len
    return np.concatenate([pair_points(d_head, n, pairs), pair_points(d_head, n, pairs, scale=0.25)])


def extrapolation(net, ids: torch.Tensor, train_len: int, multiples=MULTIPLES,
                  windows: int = EXTRAP_WINDOWS) -> dict[int, dict]:
    """For each multiple m: the loss per position over windows of m × train_len (None when the model
    cannot run that long: a learned table ends at max_len), the perplexity over the whole window and
    over the positions past train_len only."""
    out: dict[int, dict] = {}
    for m in multiples:
        L = m * train_len
        if net.cfg.pos == "learned" and L > net.cfg.max_len:
            out[m] = {"loss": None, "ppl": None, "ppl_beyond": None}
            continue
        loss = loss_by_position(net, ids, L, windows)
        out[m] = {"loss": loss, "ppl": ppl(loss), "ppl_beyond": ppl(loss, train_len) if m > 1 else None}
    return out
