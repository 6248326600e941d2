"""Speed of our from-scratch Transformer (model/) against torch.nn.Transformer.

run(quick=False) -> dict, rows(result) -> [(label, value)]. Both models share the config
(d_model, heads, layers, d_ff, activation, norm_first, dropout) and get the same wrapper work:
token embeddings × √d_model + sinusoidal PE in front, a Linear to the target vocabulary behind,
and the same masks built inside forward (source padding; target causal + padding). Timings are
interleaved (ours, torch, ours, torch, … alternating who goes first) and we report medians.

  forward        one sentence (S = T = 10), eval mode, under torch.inference_mode()
  forward traced the same with trace=True (ours only; ratio against the same torch figure)
  train step     batch 64 of random-length sentences (≤ 16 tokens, padded), train mode
                 (dropout on), cross-entropy ignoring <pad>, backward, Adam step
"""
from __future__ import annotations

import math
import statistics
import time

import torch
from torch import nn

from model import Transformer, TransformerConfig, sinusoidal_positional_encoding


class TorchReference(nn.Module):
    """nn.Transformer with the same embedding / PE / output projection around it as ours."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.src_embed = nn.Embedding(cfg.src_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, cfg.d_model, padding_idx=cfg.pad_id)
        self.register_buffer("pe", sinusoidal_positional_encoding(cfg.max_len, cfg.d_model), persistent=False)
        self.transformer = nn.Transformer(
            d_model=cfg.d_model, nhead=cfg.n_heads, num_encoder_layers=cfg.n_layers,
            num_decoder_layers=cfg.n_layers, dim_feedforward=cfg.d_ff, dropout=cfg.dropout,
            activation=cfg.activation, batch_first=True, norm_first=cfg.norm_first,
            layer_norm_eps=cfg.layer_norm_eps)
        self.generator = nn.Linear(cfg.d_model, cfg.tgt_vocab_size)
        self.scale = math.sqrt(cfg.d_model)

    def forward(self, src, tgt):
        S, T = src.shape[1], tgt.shape[1]
        src_pad = src == self.cfg.pad_id                                   # True = ignore
        tgt_pad = tgt == self.cfg.pad_id
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt.device).triu_(1)   # True = ignore
        x = self.src_embed(src) * self.scale + self.pe[:S]
        y = self.tgt_embed(tgt) * self.scale + self.pe[:T]
        out = self.transformer(x, y, tgt_mask=causal, src_key_padding_mask=src_pad,
                               tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return self.generator(out)


def _median_ms(xs):
    return statistics.median(xs) * 1e3


def _interleaved(fa, fb, reps: int):
    ta, tb = [], []
    for i in range(reps):
        for f, acc in (((fa, ta), (fb, tb)) if i % 2 == 0 else ((fb, tb), (fa, ta))):
            t0 = time.perf_counter()
            f()
            acc.append(time.perf_counter() - t0)
    return _median_ms(ta), _median_ms(tb)


def _batch(gen, B, max_T, vocab, pad_id):
    lens = torch.randint(3, max_T + 1, (B,), generator=gen)
    x = torch.randint(4, vocab, (B, max_T), generator=gen)
    x[torch.arange(max_T)[None, :] >= lens[:, None]] = pad_id
    return x


def run(quick: bool = False, num_threads: int | None = None) -> dict:
    """num_threads: None keeps torch's current setting (what the app runs with)."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    threads = torch.get_num_threads()
    reps_fwd = 100 if quick else 600
    reps_train = 8 if quick else 40

    cfg = TransformerConfig(src_vocab_size=1000, tgt_vocab_size=1000)
    ours = Transformer(cfg)
    ref = TorchReference(cfg)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())

    # -- forward, one sentence -------------------------------------------------------------
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, 1000, (1, 10), generator=g)
    tgt = torch.randint(4, 1000, (1, 10), generator=g)
    ours.eval(), ref.eval()
    with torch.inference_mode():
        for _ in range(20):
            ours(src, tgt), ours(src, tgt, trace=True), ref(src, tgt)
        f_ours, f_ref = _interleaved(lambda: ours(src, tgt), lambda: ref(src, tgt), reps_fwd)
        f_trace, f_ref2 = _interleaved(lambda: ours(src, tgt, trace=True), lambda: ref(src, tgt), reps_fwd)

    # -- train step, batch 64 -----------------------------------------------------------------
    ours.train(), ref.train()
    B, T = 64, 16
    src_b = _batch(g, B, T, 1000, cfg.pad_id)
    tgt_b = _batch(g, B, T + 1, 1000, cfg.pad_id)
    tgt_b[:, 0] = 1
    t_in, t_out = tgt_b[:, :-1], tgt_b[:, 1:]
    opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-4)
    opt_ref = torch.optim.Adam(ref.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss(ignore_index=cfg.pad_id)

    def step(model, opt):
        def f():
            opt.zero_grad(set_to_none=True)
            logits = model(src_b, t_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), t_out.reshape(-1))
            loss.backward()
            opt.step()
        return f

    s_ours, s_ref = step(ours, opt_ours), step(ref, opt_ref)
    for _ in range(3):
        s_ours(), s_ref()
    t_ours, t_ref = _interleaved(s_ours, s_ref, reps_train)

    return {
        "num_threads": threads,
        "torch_version": torch.__version__,
        "config": f"d_model={cfg.d_model} heads={cfg.n_heads} layers={cfg.n_layers}+{cfg.n_layers} "
                  f"d_ff={cfg.d_ff} vocab={cfg.src_vocab_size} {cfg.activation} "
                  f"{'pre' if cfg.norm_first else 'post'}-LN",
        "params_ours": n_ours,
        "params_torch": n_ref,
        "forward_reps": reps_fwd,
        "train_reps": reps_train,
        "forward_ms_ours": f_ours,
        "forward_ms_torch": f_ref,
        "forward_ratio_vs_torch": f_ours / f_ref,
        "forward_traced_ms_ours": f_trace,
        "forward_traced_ms_torch": f_ref2,
        "forward_traced_ratio_vs_torch": f_trace / f_ref2,
        "train_step_ms_ours": t_ours,
        "train_step_ms_torch": t_ref,
        "train_step_ratio_vs_torch": t_ours / t_ref,
    }


def rows(result: dict) -> list[tuple[str, str]]:
    r = result
    return [
        ("Model", r["config"]),
        ("Threads (torch.get_num_threads)", str(r["num_threads"])),
        ("Parameters ours / nn.Transformer", f"{r['params_ours']:,} / {r['params_torch']:,}"),
        ("Forward, 1 sentence (T=10): ours / torch",
         f"{r['forward_ms_ours']:.3f} ms / {r['forward_ms_torch']:.3f} ms"),
        ("Forward ratio ours ÷ torch (target ≤ 1.2)", f"{r['forward_ratio_vs_torch']:.2f}"),
        ("Forward with trace: ours / torch",
         f"{r['forward_traced_ms_ours']:.3f} ms / {r['forward_traced_ms_torch']:.3f} ms"),
        ("Traced forward ratio (target ≤ 2.0)", f"{r['forward_traced_ratio_vs_torch']:.2f}"),
        ("Train step, batch 64 (fwd+bwd+Adam): ours / torch",
         f"{r['train_step_ms_ours']:.2f} ms / {r['train_step_ms_torch']:.2f} ms"),
        ("Train step ratio ours ÷ torch (target ≤ 1.2)", f"{r['train_step_ratio_vs_torch']:.2f}"),
    ]


if __name__ == "__main__":
    res = run()
    for k, v in rows(res):
        print(f"{k:55s} {v}")
