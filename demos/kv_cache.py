"""KV cache demo: the numbers behind the page (plain torch / numpy, no Streamlit).

* the memory formula  bytes = 2 (K and V) × layers × kv_heads × d_head × T × batch × bytes/elem,
  with presets from public model configs;
* why decode is memory-bound: per generated token the whole weight matrix set and the whole cache
  are read once, for ~2 FLOPs per weight: arithmetic intensity ≈ 1 FLOP/byte at batch 1 (fp16),
  far below a GPU's ridge point (peak FLOP/s ÷ memory bandwidth);
* prefill then decode, step by step, on our decoder-only LM: each layer's K and V after every step;
* time per token with and without the cache, measured live (short lengths, kept per process).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from demos.ffn_cost import seq_grid

BYTES = {"fp32": 4, "fp16": 2, "int8": 1}


@dataclass(frozen=True)
class Preset:
    """A public decoder-only config (numbers from the models' released config.json files)."""
    name: str
    layers: int
    n_heads: int           # query heads
    kv_heads: int          # K/V heads (== n_heads: MHA; fewer: GQA)
    d_head: int
    params: int            # total parameters
    max_len: int           # context length of the release

    @property
    def d_model(self) -> int:
        return self.n_heads * self.d_head


PRESETS: dict[str, Preset] = {
    "gpt2": Preset("GPT-2 small", 12, 12, 12, 64, 124_439_808, 1024),
    "llama2-7b": Preset("Llama-2-7B", 32, 32, 32, 128, 6_738_415_616, 4096),
    "llama3-8b": Preset("Llama-3-8B (GQA)", 32, 32, 8, 128, 8_030_261_248, 8192),
    "mistral-7b": Preset("Mistral-7B (GQA)", 32, 32, 8, 128, 7_241_732_096, 32768),
}

# Dense fp16/bf16 tensor-core peak and HBM bandwidth from the vendor data sheets.
GPUS: dict[str, tuple[float, float]] = {   # name -> (peak FLOP/s, bytes/s)
    "A100 80GB SXM": (312e12, 2.039e12),
    "H100 SXM": (989e12, 3.35e12),
    "RTX 4090": (165e12, 1.008e12),
}


def cache_bytes(layers: int, kv_heads: int, d_head: int, T: int, batch: int = 1, bytes_per: int = 2) -> int:
    """2 × layers × kv_heads × d_head × T × batch × bytes (the 2 is K and V)."""
    return 2 * layers * kv_heads * d_head * T * batch * bytes_per


def preset_cache_bytes(p: Preset, T: int, batch: int = 1, dtype: str = "fp16") -> int:
    return cache_bytes(p.layers, p.kv_heads, p.d_head, T, batch, BYTES[dtype])


def preset_of(name: str, net) -> Preset:
    """Our decoder-only LM as a Preset (its context length is the model's max_len)."""
    c = net.cfg
    return Preset(name, c.n_layers, c.n_heads, c.n_kv_heads, c.d_head, net.num_params(), c.max_len)


def memory_series(presets: list[Preset], batch: int, dtype: str, grid: np.ndarray | None = None
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(lengths, {preset name: cache bytes at each length}) for the memory plot; lengths default
    to 60 log-spaced steps from 128 to 131,072."""
    grid = seq_grid(60, 128, 131072) if grid is None else grid
    return grid, {p.name: np.array([preset_cache_bytes(p, int(t), batch, dtype) for t in grid], dtype=float)
                  for p in presets}


def bytes_per_token(p: Preset, dtype: str = "fp16") -> int:
    """Cache bytes one more token adds (per sequence)."""
    return preset_cache_bytes(p, 1, 1, dtype)


def human_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(b) < 1024 or unit == "TiB":
            return f"{b:,.0f} {unit}" if unit == "B" else f"{b:,.2f} {unit}"
        b /= 1024
    return f"{b:.2f} TiB"


@dataclass(frozen=True)
class DecodeCost:
    flops: float            # per decode step (all sequences of the batch)
    weight_bytes: float     # weights read once per step, shared by the batch
    cache_bytes: float      # K/V of every past token of every sequence, read once
    @property
    def bytes(self) -> float:
        return self.weight_bytes + self.cache_bytes

    @property
    def intensity(self) -> float:
        """FLOPs per byte read."""
        return self.flops / self.bytes


def decode_cost(p: Preset, T: int, batch: int = 1, dtype: str = "fp16") -> DecodeCost:
    """One decode step at context length T: 2 FLOPs per weight per sequence (a multiply-add),
    plus attention 4·layers·n_heads·d_head·T per sequence (q·K and weights·V)."""
    flops = batch * (2.0 * p.params + 4.0 * p.layers * p.n_heads * p.d_head * T)
    return DecodeCost(flops, float(p.params * BYTES[dtype]), float(preset_cache_bytes(p, T, batch, dtype)))


def prefill_cost(p: Preset, T: int, batch: int = 1, dtype: str = "fp16") -> DecodeCost:
    """Prefill of T prompt tokens: the weights are read once for all T tokens (a matmul)."""
    flops = batch * (2.0 * p.params * T + 2.0 * p.layers * p.n_heads * p.d_head * T * T)
    return DecodeCost(flops, float(p.params * BYTES[dtype]), float(preset_cache_bytes(p, T, batch, dtype)))


def ridge_point(gpu: str) -> float:
    """FLOPs per byte above which the GPU is compute-bound (roofline)."""
    flops, bw = GPUS[gpu]
    return flops / bw


def min_ms_per_token(p: Preset, T: int, batch: int, gpu: str, dtype: str = "fp16") -> float:
    """Roofline lower bound of one decode step: max(bytes / bandwidth, FLOPs / peak)."""
    c = decode_cost(p, T, batch, dtype)
    flops, bw = GPUS[gpu]
    return 1000.0 * max(c.bytes / bw, c.flops / flops)


# ----------------------------------------------------------------------------------------------
# Our model: prefill then decode, step by step

MAX_STEPS = 16


@dataclass
class CacheStep:
    step: int                  # 0 = prefill
    n_in: int                  # tokens fed to the model in this step
    k: np.ndarray              # (layers, T, g·d_h) cached keys after the step (heads side by side)
    v: np.ndarray              # (layers, T, g·d_h)
    token: int                 # the token chosen (greedy) from this step's logits
    max_diff: float            # |logits with cache − logits of a full recomputation|, max
    nbytes: int                # cache.nbytes() after the step


@torch.no_grad()
def cache_steps(net, ids: list[int], n_steps: int = 8) -> list[CacheStep]:
    """Prefill `ids`, then `n_steps` greedy decode steps; after each step the cache of every layer
    and the check against recomputing the whole prefix without the cache."""
    n_steps = max(0, min(n_steps, MAX_STEPS))
    cache = net.new_cache(1, len(ids) + n_steps + 1)
    seq = torch.tensor([ids], dtype=torch.long)
    inp = seq
    out = []
    for s in range(n_steps + 1):
        logits = net(inp, cache)[:, -1]                                   # (1, V)
        full = net(seq)[:, -1]
        ks = np.stack([cache.get(i)[0][0].transpose(0, 1).reshape(cache.length, -1).numpy()
                       for i in range(net.cfg.n_layers)])                 # (layers, T, g·d_h)
        vs = np.stack([cache.get(i)[1][0].transpose(0, 1).reshape(cache.length, -1).numpy()
                       for i in range(net.cfg.n_layers)])
        tok = int(logits.argmax(-1))
        out.append(CacheStep(s, inp.shape[1], ks.copy(), vs.copy(), tok,
                             float((logits - full).abs().max()), cache.nbytes()))
        inp = torch.tensor([[tok]])
        seq = torch.cat([seq, inp], 1)
    return out


TIMING_LENGTHS = (16, 64, 128, 192, 256)


def timing(net, lengths: tuple[int, ...] = TIMING_LENGTHS, repeats: int = 3) -> dict[str, list[float]]:
    """ms for the next token at each context length, with and without the cache (best of `repeats`)."""
    lengths = tuple(T for T in lengths if T <= net.cfg.max_len) if net.cfg.pos == "learned" else lengths
    from demos.llm import decode_step_ms

    return {"lengths": list(lengths),
            "cached": [decode_step_ms(net, T, True, repeats) for T in lengths],
            "uncached": [decode_step_ms(net, T, False, repeats) for T in lengths]}
