"""Speed of our from-scratch Transformer (model/) against torch.nn.Transformer.

run(quick=False) -> dict, rows(result) -> [(label, value)]. Both models share the config
(d_model, heads, layers, d_ff, activation, norm_first, dropout) and get the same wrapper work:
token embeddings × √d_model + sinusoidal PE in front, a Linear to the target vocabulary behind,
and the same masks built inside forward (source padding; target causal + padding). Timings are
interleaved (ours, torch, ours, torch, … alternating who goes first) and we report medians.

  forward        one sentence (S = T = 10), eval mode, under torch.inference_mode(). Torch is
                 timed twice: with the same padding masks as ours, and with the causal mask only
                 (its fastest path: no nested-tensor conversion); the ratio uses the faster one.
  forward traced ours with trace=True, against the same (faster) torch figure
  train step     batch 64 of random-length sentences (≤ 16 tokens, padded), train mode
                 (dropout on), cross-entropy ignoring <pad>, backward, Adam step
"""
from __future__ import annotations

import math
import statistics
import time
import warnings

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

    def forward(self, src, tgt, padding_masks: bool = True):
        """padding_masks=False passes only the causal mask (valid when nothing is padded):
        that lets nn.Transformer skip its nested-tensor conversion, its fastest path."""
        S, T = src.shape[1], tgt.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt.device).triu_(1)   # True = ignore
        x = self.src_embed(src) * self.scale + self.pe[:S]
        y = self.tgt_embed(tgt) * self.scale + self.pe[:T]
        if padding_masks:
            src_pad = src == self.cfg.pad_id                               # True = ignore
            tgt_pad = tgt == self.cfg.pad_id
            out = self.transformer(x, y, tgt_mask=causal, src_key_padding_mask=src_pad,
                                   tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        else:
            out = self.transformer(x, y, tgt_mask=causal, tgt_is_causal=True)
        return self.generator(out)


def _median_ms(xs):
    return statistics.median(xs) * 1e3


def _interleaved(*fns, reps: int):
    """Median ms of each function, calls interleaved, order rotated every repetition."""
    times = [[] for _ in fns]
    n = len(fns)
    for i in range(reps):
        for j in range(n):
            k = (i + j) % n
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    return [_median_ms(t) for t in times]


def _batch(gen, B, max_T, vocab, pad_id):
    lens = torch.randint(3, max_T + 1, (B,), generator=gen)
    x = torch.randint(4, vocab, (B, max_T), generator=gen)
    x[torch.arange(max_T)[None, :] >= lens[:, None]] = pad_id
    return x


def run(quick: bool = False, num_threads: int | None = None) -> dict:
    """num_threads: None keeps torch's current setting (what the app runs with); a number is
    used for this run only (the previous setting is restored)."""
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _run(quick)
    finally:
        torch.set_num_threads(previous)


def _run(quick: bool) -> dict:
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
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nested-tensor prototype warning from nn.Transformer
        fns = (lambda: ours(src, tgt), lambda: ours(src, tgt, trace=True),
               lambda: ref(src, tgt), lambda: ref(src, tgt, padding_masks=False))
        for _ in range(20):
            for f in fns:
                f()
        f_ours, f_trace, f_ref_masks, f_ref_causal = _interleaved(*fns, reps=reps_fwd)
    f_ref = min(f_ref_masks, f_ref_causal)   # compare against torch's faster variant

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
    t_ours, t_ref = _interleaved(s_ours, s_ref, reps=reps_train)

    return {
        "model_num_threads": threads,
        "torch_version": torch.__version__,
        "model_config": f"d_model={cfg.d_model} heads={cfg.n_heads} layers={cfg.n_layers}+{cfg.n_layers} "
                  f"d_ff={cfg.d_ff} vocab={cfg.src_vocab_size} {cfg.activation} "
                  f"{'pre' if cfg.norm_first else 'post'}-LN",
        "model_params_ours": n_ours,
        "model_params_torch": n_ref,
        "model_forward_reps": reps_fwd,
        "model_train_reps": reps_train,
        "forward_ms_ours": f_ours,
        "forward_ms_torch": f_ref,
        "forward_ms_torch_with_padding_masks": f_ref_masks,
        "forward_ms_torch_causal_only": f_ref_causal,
        "forward_ratio_vs_torch": f_ours / f_ref,
        "forward_ratio_vs_torch_same_masks": f_ours / f_ref_masks,
        "forward_traced_ms_ours": f_trace,
        "forward_traced_ratio_vs_torch": f_trace / f_ref,
        "train_step_ms_ours": t_ours,
        "train_step_ms_torch": t_ref,
        "train_step_ratio_vs_torch": t_ours / t_ref,
    }


def rows(result: dict) -> list[tuple[str, str]]:
    r = result
    return [
        ("Model", r["model_config"]),
        ("Threads (torch.get_num_threads)", str(r["model_num_threads"])),
        ("Parameters ours / nn.Transformer", f"{r['model_params_ours']:,} / {r['model_params_torch']:,}"),
        ("Forward, 1 sentence (S=T=10), ours / torch (faster variant)",
         f"{r['forward_ms_ours']:.3f} ms / {r['forward_ms_torch']:.3f} ms"),
        ("Forward ratio ours ÷ torch (target ≤ 1.2)", f"{r['forward_ratio_vs_torch']:.2f}"),
        ("Forward, torch with padding masks / causal mask only",
         f"{r['forward_ms_torch_with_padding_masks']:.3f} ms / {r['forward_ms_torch_causal_only']:.3f} ms"),
        ("Forward ratio vs torch given the same masks", f"{r['forward_ratio_vs_torch_same_masks']:.2f}"),
        ("Forward with trace=True: ours", f"{r['forward_traced_ms_ours']:.3f} ms"),
        ("Traced forward ratio (target ≤ 2.0)", f"{r['forward_traced_ratio_vs_torch']:.2f}"),
        ("Train step, batch 64 (fwd+bwd+Adam): ours / torch",
         f"{r['train_step_ms_ours']:.2f} ms / {r['train_step_ms_torch']:.2f} ms"),
        ("Train step ratio ours ÷ torch (target ≤ 1.2)", f"{r['train_step_ratio_vs_torch']:.2f}"),
    ]


if __name__ == "__main__":
    res = run()
    for k, v in rows(res):
        print(f"{k:55s} {v}")
