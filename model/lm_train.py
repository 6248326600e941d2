"""Train the decoder-only character LMs on the question bank's text (`python -m model.train --task lm`).

    python -m model.train --task lm                 # -> model/checkpoints/lm.pt
    python -m model.train --task lm-sinusoidal      # small variants for the RoPE page's
    python -m model.train --task lm-learned         # extrapolation comparison (trained at
    python -m model.train --task lm-alibi           # ctx 64, evaluated at 1x, 2x, 4x)
    python -m model.train --task lm-rope-small

Budget: at most `steps` steps and `max_cpu_seconds` of process CPU time (all threads; 300 s is
about 2 cores x 150 s on an idle machine), so a busy machine makes the run slower in wall time
but not shorter in work. Wall and CPU seconds and the load average are printed and stored.

The loop: random windows of ctx_len + 1 characters of the training text (model.lm_data.corpus,
cards split 9:1), next-character cross-entropy, AdamW (beta 0.9, 0.95, weight decay 0.1 on
matrices), linear warmup then cosine decay to 10 % (over the steps or the time budget, whichever
ends first), gradient clipping at 1.0. At the end:
held-out perplexity per character (model.lm_data.perplexity) at the trained context length.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from model.decoder import DecoderConfig, DecoderLM
from model.lm_data import CharTokenizer, corpus, perplexity, random_windows

__all__ = ["LMTrainConfig", "LM_VARIANTS", "LM_THRESHOLDS", "lm_config", "train_lm", "LMTrainResult",
           "lm_main"]


@dataclass
class LMTrainConfig:
    d_model: int = 96
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    pos: str = "rope"
    norm: str = "rmsnorm"
    ffn: str = "swiglu"
    ctx_len: int = 128               # training window
    max_len: int = 512               # model max_len (learned table size; generation budget)
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_frac: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    steps: int = 450
    max_seconds: float | None = None     # wall-clock budget
    max_cpu_seconds: float | None = 300.0  # process CPU time budget (all threads): ~2 cores x 150 s
    min_count: int = 2               # characters seen fewer times map to <unk>
    eval_windows: int | None = None  # held-out windows for the final perplexity (None = all)
    log_every: int = 25
    seed: int = 0

    def model_config(self, vocab_size: int) -> DecoderConfig:
        return DecoderConfig(vocab_size=vocab_size, d_model=self.d_model, n_layers=self.n_layers,
                             n_heads=self.n_heads, n_kv_heads=self.n_kv_heads, max_len=self.max_len,
                             pos=self.pos, norm=self.norm, ffn=self.ffn, seed=self.seed)

    @classmethod
    def from_dict(cls, d: dict) -> LMTrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


_SMALL = dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=4, ctx_len=64, max_len=256, batch_size=32,
              steps=600, max_cpu_seconds=80.0)
# Shipped LM checkpoints: name -> overrides of LMTrainConfig.
LM_VARIANTS: dict[str, dict] = {
    "lm": {},
    "lm-rope-small": {**_SMALL, "pos": "rope"},
    "lm-sinusoidal": {**_SMALL, "pos": "sinusoidal"},
    "lm-learned": {**_SMALL, "pos": "learned"},
    "lm-alibi": {**_SMALL, "pos": "alibi"},
}
# Held-out perplexity per character that model.evaluate requires (at the trained ctx_len).
# (Uniform guessing would score the vocabulary size, about 1100.)
LM_THRESHOLDS: dict[str, float] = {"lm": 14.0, "lm-rope-small": 45.0, "lm-sinusoidal": 45.0,
                                   "lm-learned": 45.0, "lm-alibi": 45.0}


def lm_config(name: str, **overrides) -> LMTrainConfig:
    if name not in LM_VARIANTS:
        raise ValueError(f"unknown LM {name!r}; choose one of {', '.join(LM_VARIANTS)}")
    return LMTrainConfig(**{**LM_VARIANTS[name], **overrides})


@dataclass
class LMTrainResult:
    model: DecoderLM
    tok: CharTokenizer
    config: LMTrainConfig
    history: list[tuple[int, float, float]] = field(default_factory=list)   # (step, loss, seconds)
    steps: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    stopped: str = "steps"

    def meta(self) -> dict:
        return {"task": "lm", "train_config": asdict(self.config), "steps": self.steps,
                "train_seconds": round(self.seconds, 2), "train_cpu_seconds": round(self.cpu_seconds, 2),
                "stopped": self.stopped,
                "final_loss": self.history[-1][1] if self.history else None}


def _lr_at(step: int, cfg: LMTrainConfig, elapsed: float = 0.0, cpu: float = 0.0) -> float:
    """Linear warmup, then cosine decay to min_lr_frac over the steps OR a time budget (wall or
    CPU), whichever is further along, so a run cut by its budget still anneals."""
    if cfg.warmup > 0 and step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    if cfg.max_seconds:
        p = max(p, min(1.0, elapsed / cfg.max_seconds))
    if cfg.max_cpu_seconds:
        p = max(p, min(1.0, cpu / cfg.max_cpu_seconds))
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def train_lm(cfg: LMTrainConfig, on_log: Callable[[int, float, float], None] | None = None,
             texts: tuple[str, str] | None = None) -> LMTrainResult:
    """Train one LM (the caller chooses torch's thread count). texts: (train, held-out) or the bank's."""
    train_text, _ = texts if texts is not None else corpus()
    tok = CharTokenizer.from_text(train_text, cfg.min_count)
    data = torch.tensor(tok.encode(train_text), dtype=torch.long)
    torch.manual_seed(cfg.seed)
    model = DecoderLM(cfg.model_config(len(tok)))
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.seed)
    res = LMTrainResult(model, tok, cfg)
    t0, c0 = time.perf_counter(), time.process_time()
    step = 0
    for step in range(1, cfg.steps + 1):
        if cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds:
            res.stopped = "time"
            step -= 1
            break
        if cfg.max_cpu_seconds is not None and time.process_time() - c0 > cfg.max_cpu_seconds:
            res.stopped = "cpu_time"
            step -= 1
            break
        x, y = random_windows(data, cfg.batch_size, cfg.ctx_len, gen)
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg, time.perf_counter() - t0, time.process_time() - c0)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % cfg.log_every == 0 or step == cfg.steps:
            row = (step, float(loss.item()), time.perf_counter() - t0)
            res.history.append(row)
            if on_log is not None:
                on_log(*row)
    res.steps = step
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    model.eval()
    return res


def lm_main(name: str, steps: int | None = None, out: str | None = None, save: bool = True,
            threads: int = 2, max_seconds: float | None = None) -> int:
    """CLI body for `python -m model.train --task lm...`: train, report held-out perplexity, save."""
    from model import checkpoint

    torch.set_num_threads(threads)
    overrides = {**({"steps": steps} if steps else {}), **({"max_seconds": max_seconds} if max_seconds else {})}
    if steps:                        # an explicit step count is run in full
        overrides["max_cpu_seconds"] = None
    cfg = lm_config(name, **overrides)
    train_text, val_text = corpus()
    print(f"checkpoint={name}  threads={torch.get_num_threads()}  pos={cfg.pos} d_model={cfg.d_model} "
          f"layers={cfg.n_layers} heads={cfg.n_heads} kv_heads={cfg.n_kv_heads} ctx={cfg.ctx_len} "
          f"batch={cfg.batch_size} steps<={cfg.steps} CPU time<={cfg.max_cpu_seconds}s  "
          f"train {len(train_text):,} chars, held-out {len(val_text):,} chars", flush=True)
    res = train_lm(cfg, on_log=lambda s, loss, t: print(f"step {s:5d}  loss {loss:.3f}  {t:6.1f}s", flush=True),
                   texts=(train_text, val_text))
    t_eval = time.perf_counter()
    ppl = perplexity(res.model, res.tok, val_text, cfg.ctx_len, max_windows=cfg.eval_windows)
    threshold = LM_THRESHOLDS[name]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"trained {res.steps} steps in {res.seconds:.1f} s wall, {res.cpu_seconds:.1f} s CPU "
          f"(stopped: {res.stopped}; load average {load:.1f} on {os.cpu_count()} cores); "
          f"{res.model.num_params():,} parameters, vocab {len(res.tok)}")
    print(f"held-out perplexity per character (ctx {cfg.ctx_len}): {ppl:.3f}  threshold {threshold}  "
          f"[eval {time.perf_counter() - t_eval:.1f} s]")
    if save:
        meta = {**res.meta(), "checkpoint": name, "heldout_perplexity": ppl, "threshold": threshold,
                "torch_threads": threads, "train_chars": len(train_text), "heldout_chars": len(val_text)}
        path = checkpoint.save_lm(res.model, res.tok, meta, out or name)
        print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0 if ppl <= threshold else 1
