"""MHA / GQA / MQA demo: parameter count, KV-cache size and measured decode time for every
n_kv_heads; the trained LM's attention heads grouped by the K/V head they share; GQA = MHA with
each K/V head repeated (checked on the live model)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch

from demos.llm import decode_step_ms
from model.decoder import DecoderConfig, DecoderLM, kv_cache_bytes

COMPARE_HEADS = 8          # query heads of the comparison models (n_kv_heads in 1, 2, 4, 8)
TIMING_T = 192
TIMING_BATCH = 4


def kv_options(n_heads: int) -> list[int]:
    return [g for g in range(1, n_heads + 1) if n_heads % g == 0]


def compare_config(cfg: DecoderConfig, n_kv_heads: int) -> DecoderConfig:
    """The LM's width and depth with COMPARE_HEADS query heads and `n_kv_heads` K/V heads."""
    return replace(cfg, n_heads=COMPARE_HEADS, n_kv_heads=n_kv_heads, bug=None, d_ff=cfg.d_ff)


def attn_params(d_model: int, n_heads: int, n_kv_heads: int, bias: bool = False) -> int:
    """W_q (d·h·d_h) + W_k, W_v (d·g·d_h each) + W_o (h·d_h·d), plus biases h·d_h + 2·g·d_h + d."""
    d_h = d_model // n_heads
    n = 2 * d_model * n_heads * d_h + 2 * d_model * n_kv_heads * d_h
    return n + (n_heads * d_h + 2 * n_kv_heads * d_h + d_model if bias else 0)


@dataclass
class Variant:
    n_kv_heads: int
    params: int                 # whole model, counted on the module
    attn_params: int            # one layer's attention, counted on the module
    cache_bytes: int            # fp16 cache at TIMING_T tokens, batch TIMING_BATCH
    ms: float | None = None     # measured decode step


def variants(cfg: DecoderConfig, measure: bool = True, repeats: int = 5) -> list[Variant]:
    """One random-init model per n_kv_heads (timing and sizes do not depend on training)."""
    out = []
    for g in kv_options(COMPARE_HEADS):
        c = compare_config(cfg, g)
        net = DecoderLM(c).eval()
        attn = sum(p.numel() for p in net.blocks[0].attn.parameters())
        ms = decode_step_ms(net, TIMING_T, True, repeats, TIMING_BATCH) if measure else None
        out.append(Variant(g, net.num_params(), attn,
                           kv_cache_bytes(c.n_layers, g, c.d_head, TIMING_T, TIMING_BATCH, 2), ms))
    return out


def group_of(n_heads: int, n_kv_heads: int) -> np.ndarray:
    """(h,) the K/V head each query head reads: j // (h / g)."""
    return np.arange(n_heads) // (n_heads // n_kv_heads)


@torch.no_grad()
def attention(net, ids: list[int]) -> np.ndarray:
    """Attention weights of every layer and head: (layers, h, T, T)."""
    _, attn = net(torch.tensor([ids]), return_attn=True)
    return torch.stack([a[0] for a in attn]).numpy()


@torch.no_grad()
def as_mha(net: DecoderLM) -> DecoderLM:
    """The same model written as MHA: each K/V head's weights copied to all the query heads it serves."""
    cfg = net.cfg
    mha = DecoderLM(replace(cfg, n_kv_heads=cfg.n_heads)).eval()
    state = copy.deepcopy(net.state_dict())
    for i in range(cfg.n_layers):
        for w in ("W_k", "W_v"):
            key = f"blocks.{i}.attn.{w}.weight"
            W = state[key].view(cfg.n_kv_heads, cfg.d_head, cfg.d_model)
            state[key] = W.repeat_interleave(cfg.n_rep, 0).reshape(cfg.n_heads * cfg.d_head, cfg.d_model)
    mha.load_state_dict(state)
    return mha


@torch.no_grad()
def mha_equivalence(net: DecoderLM, ids: list[int]) -> float:
    """max |logits(GQA model) − logits(the same model as MHA with repeated K/V heads)|."""
    x = torch.tensor([ids])
    return float((net(x) - as_mha(net)(x)).abs().max())
