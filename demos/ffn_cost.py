"""FFN and cost of one Transformer block: parameters, FLOPs and attention-matrix memory.

FLOPs count a multiply-add as 2 FLOPs (a (n×a)·(a×b) matmul costs 2·n·a·b). Per block, sequence
length n, width d, FFN width d_ff (self-attention, one sequence, biases/softmax/norms ignored):
    Q, K, V, O projections   4 · 2·n·d²  = 8·n·d²
    scores Q·Kᵀ              2·n²·d
    weights · V              2·n²·d
    FFN d → d_ff → d         2 · 2·n·d·d_ff   (= 16·n·d² when d_ff = 4d)
The n² terms (4·n²·d) overtake the FFN (4·n·d·d_ff) at n = d_ff (= 4d).
"""
from __future__ import annotations

import numpy as np
import torch

from model import MultiHeadAttention, PositionwiseFeedForward, TransformerConfig
from model.transformer import DecoderLayer, EncoderLayer

BYTES = {"fp32": 4, "fp16": 2}


def ffn_params(d: int, d_ff: int) -> int:
    """W_1 (d·d_ff) + b_1 (d_ff) + W_2 (d_ff·d) + b_2 (d)."""
    return 2 * d * d_ff + d_ff + d


def attn_params(d: int) -> int:
    """W_q, W_k, W_v, W_o, each d·d + d (bias). Independent of the number of heads."""
    return 4 * (d * d + d)


def layernorm_params(d: int) -> int:
    return 2 * d


def encoder_layer_params(d: int, d_ff: int) -> int:
    return attn_params(d) + ffn_params(d, d_ff) + 2 * layernorm_params(d)


def decoder_layer_params(d: int, d_ff: int) -> int:
    return 2 * attn_params(d) + ffn_params(d, d_ff) + 3 * layernorm_params(d)


def model_params(d: int, d_ff: int, n_layers: int, n_heads: int) -> dict[str, int]:
    """Real parameter counts, sum of p.numel(), of our model's modules (built on the meta device)."""
    cfg = TransformerConfig(src_vocab_size=8, tgt_vocab_size=8, d_model=d, n_heads=n_heads,
                            n_layers=n_layers, d_ff=d_ff)

    def count(m) -> int:
        return sum(p.numel() for p in m.parameters())

    with torch.device("meta"):   # shapes only: no memory, no initialisation cost
        return {"attn": count(MultiHeadAttention(d, n_heads)), "ffn": count(PositionwiseFeedForward(d, d_ff)),
                "encoder_layer": count(EncoderLayer(cfg)), "decoder_layer": count(DecoderLayer(cfg))}


def block_flops(n: np.ndarray | int, d: int, d_ff: int) -> dict[str, np.ndarray]:
    """FLOPs of one encoder block's parts for sequence length(s) n."""
    n = np.asarray(n, dtype=np.float64)
    return {
        "proj_qkvo": 8 * n * d * d,
        "scores_qk": 2 * n * n * d,
        "weights_v": 2 * n * n * d,
        "ffn": 4 * n * d * d_ff,
    }


def crossover(d: int, d_ff: int | None = None) -> int:
    """n where the n² terms of attention (4n²d) equal the FFN (4n·d·d_ff): n = d_ff (= 4d)."""
    return d_ff if d_ff is not None else 4 * d


def attention_matrix_bytes(n: np.ndarray | int, dtype: str = "fp32", heads: int = 1, layers: int = 1,
                           batch: int = 1) -> np.ndarray:
    """Bytes of the (n × n) attention weights kept for backward, per head/layer/batch element."""
    n = np.asarray(n, dtype=np.float64)
    return n * n * BYTES[dtype] * heads * layers * batch


def seq_grid(points: int, lo: int = 16, hi: int = 16384) -> np.ndarray:
    """Sequence lengths for a log-x plot: `points` geometric steps from lo to hi, rounded, unique."""
    return np.unique(np.round(np.geomspace(lo, hi, points)).astype(int))


def human_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:,.0f} {unit}" if unit == "B" else f"{b:,.1f} {unit}"
        b /= 1024
    return f"{b:.1f} TiB"
