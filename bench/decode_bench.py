"""Decoding speed of the shipped decoder-only LM (model/checkpoints/lm.pt).

run(quick=False) -> dict, rows(result) -> [(label, value)].

  kv_cache_speedup      time per generated token without the KV cache ÷ with it, greedy, 256 new
                        tokens after a 16-character prompt (medians of interleaved runs)
  decode_ms_per_token   the cached figure (ms per new token, whole generate loop). generate() runs
                        DecoderLM's inference plan (forward's ops without the nn.Module plumbing)
                        with and without the cache alike
  prefill_ms            one forward of a 128-character prompt into an empty cache
  decode_ratio_vs_torch one cached decode step of our DecoderLM ÷ the same step of TorchDecoder,
                        a reference decoder written with torch's own pieces (nn.Embedding,
                        nn.Linear, nn.RMSNorm / nn.LayerNorm, F.scaled_dot_product_attention,
                        complex-number RoPE) holding the same weights and a copy of the same
                        cache (128 positions); the two steps are timed interleaved, same threads.
                        Like our model at inference, the reference projects Q|K|V with one fused
                        Linear (nanoGPT's c_attn) and rotates Q and K in one go, so the ratio
                        compares the same structure.
                        Both rewind their cache after each step, so every step sees 128 cached
                        positions. The logits of the two steps are compared (max |diff| reported).
"""
from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.checkpoint import load_lm
from model.decoder import DecoderLM, rope_angles
from model.lm_data import corpus


class TorchDecoder(nn.Module):
    """Reference decoder (RoPE / none positions; RMSNorm or LayerNorm; SwiGLU / GELU / ReLU) from
    torch's own modules, weights copied from a DecoderLM, K/V in preallocated buffers. Q|K|V fused
    as in our model's no-grad path: qkv = [W_q; W_k; W_v]."""

    def __init__(self, lm: DecoderLM):
        super().__init__()
        c = self.cfg = lm.cfg
        if c.pos not in ("rope", "none"):
            raise ValueError("the reference decoder covers pos='rope' and 'none'")

        def lin(*srcs: nn.Linear) -> nn.Linear:
            """One Linear whose output is the outputs of srcs side by side."""
            m = nn.Linear(srcs[0].in_features, sum(s.out_features for s in srcs), bias=srcs[0].bias is not None)
            state = {"weight": torch.cat([s.weight for s in srcs])}
            if m.bias is not None:
                state["bias"] = torch.cat([s.bias for s in srcs])
            m.load_state_dict(state)
            return m

        def norm(src: nn.Module) -> nn.Module:
            m = (nn.RMSNorm(c.d_model, eps=c.norm_eps) if c.norm == "rmsnorm"
                 else nn.LayerNorm(c.d_model, eps=c.norm_eps, bias=c.bias))
            m.load_state_dict(src.state_dict())
            return m

        self.emb = nn.Embedding(c.vocab_size, c.d_model)
        self.emb.load_state_dict(lm.tok_emb.state_dict())
        self.layers = nn.ModuleList()
        for b in lm.blocks:
            layer = nn.Module()
            layer.n1, layer.n2 = norm(b.norm1), norm(b.norm2)
            layer.qkv, layer.o = lin(b.attn.W_q, b.attn.W_k, b.attn.W_v), lin(b.attn.W_o)
            layer.w1, layer.w2 = lin(b.ffn.W_1), lin(b.ffn.W_2)
            layer.w3 = lin(b.ffn.W_3) if c.ffn == "swiglu" else None
            self.layers.append(layer)
        self.nf = norm(lm.norm_f)
        self.head = lin(lm.lm_head)
        self.act = F.gelu if c.ffn == "gelu" else F.relu
        n = 4 * c.max_len
        cos, sin = rope_angles(n, c.d_head, c.rope_base)
        self.freqs = torch.complex(cos, sin)                               # (n, d_h/2) e^{i p theta}
        self.k_buf: list[Tensor] = []
        self.v_buf: list[Tensor] = []
        self.length = 0

    def load_cache(self, cache) -> None:
        """Copy of our KVCache's buffers (B, g, capacity, d_h) and length."""
        self.k_buf = [k.clone() for k in cache.k]
        self.v_buf = [v.clone() for v in cache.v]
        self.length = cache.length

    def _rope(self, x: Tensor, f: Tensor) -> Tensor:                      # x (B, T, heads, d_h)
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * f[:, None, :]).flatten(-2)

    def forward(self, idx: Tensor) -> Tensor:
        c = self.cfg
        B, T = idx.shape
        L = self.length
        x = self.emb(idx)
        f = self.freqs[L: L + T] if c.pos == "rope" else None
        h, g, d_h = c.n_heads, c.n_kv_heads, c.d_head
        for i, ly in enumerate(self.layers):
            qkv = ly.qkv(ly.n1(x))                                         # (B, T, (h + 2g) d_h)
            qk = qkv[..., : (h + g) * d_h].view(B, T, h + g, d_h)
            if f is not None:
                qk = self._rope(qk, f)                                     # q and k heads at once
            q, k = qk[:, :, :h], qk[:, :, h:]
            v = qkv[..., (h + g) * d_h:].view(B, T, g, d_h)
            self.k_buf[i][:, :, L: L + T] = k.transpose(1, 2)
            self.v_buf[i][:, :, L: L + T] = v.transpose(1, 2)
            y = F.scaled_dot_product_attention(q.transpose(1, 2), self.k_buf[i][:, :, : L + T],
                                               self.v_buf[i][:, :, : L + T], is_causal=T > 1 and L == 0,
                                               enable_gqa=g != h)
            x = x + ly.o(y.transpose(1, 2).reshape(B, T, h * d_h))
            m = ly.n2(x)
            hid = F.silu(ly.w1(m)) * ly.w3(m) if ly.w3 is not None else self.act(ly.w1(m))
            x = x + ly.w2(hid)
        self.length = L + T
        return self.head(self.nf(x))


def _median_ms(xs) -> float:
    return statistics.median(xs) * 1e3


def run(quick: bool = False, num_threads: int | None = None) -> dict:
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        with torch.inference_mode():
            return _run(quick)
    finally:
        torch.set_num_threads(previous)


def _run(quick: bool) -> dict:
    lm, tok = load_lm("lm")
    _, val_text = corpus()
    n_new = 256
    prompt = torch.tensor([tok.encode(val_text[:16])])
    long_prompt = torch.tensor([tok.encode(val_text[:128])])
    reps = 2 if quick else 5

    # -- generation with / without cache (greedy), interleaved --------------------------------
    lm.generate(prompt, 8, temperature=0), lm.generate(prompt, 8, temperature=0, use_cache=False)
    t_cache, t_full = [], []
    same = True
    for r in range(reps):
        order = (True, False) if r % 2 == 0 else (False, True)
        outs = {}
        for use in order:
            t0 = time.perf_counter()
            outs[use] = lm.generate(prompt, n_new, temperature=0, use_cache=use)
            (t_cache if use else t_full).append((time.perf_counter() - t0) / n_new)
        same &= torch.equal(outs[True], outs[False])
    decode_ms = _median_ms(t_cache)
    full_ms = _median_ms(t_full)

    # -- prefill ----------------------------------------------------------------------------
    pre = []
    for _ in range(5 if quick else 20):
        cache = lm.new_cache(1, 512)
        t0 = time.perf_counter()
        lm(long_prompt, cache)
        pre.append(time.perf_counter() - t0)
    prefill_ms = _median_ms(pre)

    # -- one decode step: ours vs the torch reference, same weights, same cache -------------------
    ref = TorchDecoder(lm).eval()
    cache = lm.new_cache(1, 512)
    lm(long_prompt, cache)
    ref.load_cache(cache)
    L = cache.length
    nxt = torch.tensor([[tok.encode("e")[0]]])
    ours_logits = lm(nxt, cache)
    cache.length = L
    ref_logits = ref(nxt)
    ref.length = L
    max_diff = (ours_logits - ref_logits).abs().max().item()

    def ours_step():
        lm(nxt, cache)
        cache.length = L

    def ref_step():
        ref(nxt)
        ref.length = L

    for _ in range(30):
        ours_step(), ref_step()
    steps = 300 if quick else 2000
    t_o, t_r = [], []
    for i in range(steps):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            t0 = time.perf_counter()
            (ours_step if which == 0 else ref_step)()
            (t_o if which == 0 else t_r).append(time.perf_counter() - t0)
    step_ours, step_ref = _median_ms(t_o), _median_ms(t_r)
    c = lm.cfg
    return {
        "decode_num_threads": torch.get_num_threads(),
        "decode_model": (f"lm: d_model={c.d_model} layers={c.n_layers} heads={c.n_heads} kv_heads={c.n_kv_heads} "
                         f"pos={c.pos} {c.norm} {c.ffn} vocab={c.vocab_size} params={lm.num_params():,}"),
        "kv_cache_new_tokens": n_new,
        "kv_cache_speedup": full_ms / decode_ms,
        "kv_cache_same_tokens": bool(same),
        "decode_ms_per_token": decode_ms,
        "decode_ms_per_token_no_cache": full_ms,
        "prefill_tokens": int(long_prompt.shape[1]),
        "prefill_ms": prefill_ms,
        "decode_step_ms_ours": step_ours,
        "decode_step_ms_torch": step_ref,
        "decode_ratio_vs_torch": step_ours / step_ref,
        "decode_step_max_abs_diff": max_diff,
        "decode_step_cached_positions": L,
    }


def rows(result: dict) -> list[tuple[str, str]]:
    r = result
    return [
        ("Model", r["decode_model"]),
        ("Threads", str(r["decode_num_threads"])),
        (f"Greedy, {r['kv_cache_new_tokens']} new tokens: ms/token with / without KV cache",
         f"{r['decode_ms_per_token']:.2f} / {r['decode_ms_per_token_no_cache']:.2f}"),
        ("KV-cache speedup (target ≥ 3)", f"{r['kv_cache_speedup']:.1f}×  (same tokens: {r['kv_cache_same_tokens']})"),
        (f"Prefill, {r['prefill_tokens']} tokens", f"{r['prefill_ms']:.2f} ms"),
        (f"One decode step at {r['decode_step_cached_positions']} cached positions: ours / torch pieces",
         f"{r['decode_step_ms_ours']:.3f} ms / {r['decode_step_ms_torch']:.3f} ms"),
        ("Decode step ratio ours ÷ torch (target ≤ 1.2)",
         f"{r['decode_ratio_vs_torch']:.2f}  (max |Δlogit| {r['decode_step_max_abs_diff']:.1e})"),
    ]


if __name__ == "__main__":
    res = run()
    for k, v in rows(res):
        print(f"{k:70s} {v}")
