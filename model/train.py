"""Train our Transformer on a toy task: `python -m model.train --task NAME [--steps N] [--out PATH]`.

    python -m model.train --task translate        # trains, evaluates, saves model/checkpoints/translate.pt
    python -m model.train --task reverse --pe learned   # -> model/checkpoints/reverse-learned-pe.pt

The loop (also used by the training lab, demos/lab.py, in a background thread):
  * batches are generated on the fly from a seeded stream (model.data), padded with <pad>;
    the decoder input is <bos> + target, the label is target + <eos> (teacher forcing);
  * Adam (β = 0.9, 0.98), linear warmup to the peak learning rate, then cosine decay;
    cross-entropy ignoring <pad>, gradient clipping at 1.0;
  * every `eval_every` steps: exact-match greedy decoding on `eval_n` validation sentences (their
    own seed); training stops early once it reaches `target` (two evaluations in a row);
  * at the end: exact match on fresh held-out sentences (model.data.EVAL_SEED, never trained on
    as a stream).

train(cfg, on_log=..., should_stop=...) -> TrainResult. on_log(LogRow) is called every
`log_every` steps and at every evaluation; should_stop() is polled every step.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from model.data import EVAL_SEED, TASKS, TRAIN_SEED, examples
from model.lm_train import LM_VARIANTS, lm_main
from model.transformer import Transformer, TransformerConfig
from model.vocab import Vocab

__all__ = ["TrainConfig", "LogRow", "TrainResult", "DEFAULTS", "default_config", "train", "make_vocabs",
           "encode_batch", "exact_match", "build_model", "VAL_SEED", "VARIANTS", "CHECKPOINTS"]

VAL_SEED = 4242


@dataclass
class TrainConfig:
    task: str = "translate"
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 128
    dropout: float = 0.0
    pos_encoding: Literal["sinusoidal", "learned", "none"] = "sinusoidal"
    norm_first: bool = False
    scale_attention: bool = True
    lr: float = 2e-3                 # peak learning rate
    warmup: int = 100                # linear warmup steps (0 = none)
    steps: int = 3000                # maximum steps (cosine decay to 10% over these)
    batch_size: int = 64
    eval_every: int = 100
    eval_n: int = 300
    target: float = 0.995            # early stop at this validation exact match
    log_every: int = 10
    seed: int = 0
    max_seconds: float | None = None

    def model_config(self, src_vocab_size: int, tgt_vocab_size: int) -> TransformerConfig:
        t = TASKS[self.task]
        return TransformerConfig(
            src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, d_model=self.d_model,
            n_heads=self.n_heads, n_layers=self.n_layers, d_ff=self.d_ff, dropout=self.dropout,
            max_len=max(t.max_src_len, t.max_tgt_len) + 2, pos_encoding=self.pos_encoding,
            norm_first=self.norm_first, scale_attention=self.scale_attention, seed=self.seed)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# Tuned so that each task reaches >= 99% held-out exact match well within 60 s on 2 CPU cores.
DEFAULTS: dict[str, dict] = {
    "copy": {"steps": 800},
    "reverse": {"steps": 1000},
    "sort": {"steps": 1000},
    "translate": {"steps": 600},
}


# Extra shipped checkpoints beside the one per task: file stem -> (task, config overrides).
# reverse-learned-pe: the positional-encoding page shows its trained pos_embed beside the sinusoid.
VARIANTS: dict[str, tuple[str, dict]] = {
    "reverse-learned-pe": ("reverse", {"pos_encoding": "learned", "steps": 2000}),
}
# Every shipped checkpoint: file stem (model/checkpoints/STEM.pt) -> task it is evaluated on.
CHECKPOINTS: dict[str, str] = {**{t: t for t in TASKS}, **{v: t for v, (t, _) in VARIANTS.items()}}


def default_config(task: str, **overrides) -> TrainConfig:
    """The tuned config of a task, or of a variant name (VARIANTS), with overrides on top."""
    if task in VARIANTS:
        base, extra = VARIANTS[task]
        return TrainConfig(task=base, **{**DEFAULTS.get(base, {}), **extra, **overrides})
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(CHECKPOINTS)}")
    return TrainConfig(task=task, **{**DEFAULTS.get(task, {}), **overrides})


@dataclass
class LogRow:
    step: int
    loss: float
    lr: float
    elapsed: float
    token_acc: float                  # training batch: share of target tokens predicted right
    exact_match: float | None = None  # validation greedy exact match (evaluation rows only)


@dataclass
class TrainResult:
    model: Transformer
    src_vocab: Vocab
    tgt_vocab: Vocab
    config: TrainConfig
    history: list[LogRow] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    val_exact_match: float = 0.0
    reached_target: bool = False
    stopped: str = "steps"            # "target" | "steps" | "stopped" | "time"

    def meta(self) -> dict:
        return {"task": self.config.task, "train_config": asdict(self.config), "steps": self.steps,
                "train_seconds": round(self.seconds, 2), "val_exact_match": self.val_exact_match,
                "stopped": self.stopped}


def make_vocabs(task: str) -> tuple[Vocab, Vocab]:
    t = TASKS[task]
    return Vocab(t.src_tokens), Vocab(t.tgt_tokens)


def build_model(cfg: TrainConfig) -> tuple[Transformer, Vocab, Vocab]:
    sv, tv = make_vocabs(cfg.task)
    return Transformer(cfg.model_config(len(sv), len(tv))), sv, tv


def _pad(rows: list[list[int]], pad: int) -> torch.Tensor:
    T = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (T - len(r)) for r in rows], dtype=torch.long)


def encode_batch(pairs, sv: Vocab, tv: Vocab) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pairs of token lists -> src (B, S), decoder input <bos>+y (B, T), labels y+<eos> (B, T)."""
    src = _pad([[sv.token_to_id(t) for t in s] for s, _ in pairs], sv.pad_id)
    ys = [[tv.token_to_id(t) for t in y] for _, y in pairs]
    tin = _pad([[tv.bos_id] + y for y in ys], tv.pad_id)
    tout = _pad([y + [tv.eos_id] for y in ys], tv.pad_id)
    return src, tin, tout


@torch.no_grad()
def exact_match(model: Transformer, sv: Vocab, tv: Vocab, pairs, batch: int = 500) -> float:
    """Share of pairs whose greedy decoding equals the target exactly (incl. <eos>)."""
    was = model.training
    model.eval()
    hits = 0
    max_len = max(len(y) for _, y in pairs) + 2
    for i in range(0, len(pairs), batch):
        chunk = pairs[i:i + batch]
        src, _, tout = encode_batch(chunk, sv, tv)
        outs = model.greedy_decode(src, tv.bos_id, tv.eos_id, max_len=max_len)
        for out, (_, y) in zip(outs, chunk, strict=True):
            hits += out == [tv.token_to_id(t) for t in y] + [tv.eos_id]
    model.train(was)
    return hits / len(pairs)


def _lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to cfg.lr over cfg.warmup steps, then cosine decay to 10% at cfg.steps."""
    if cfg.warmup > 0 and step <= cfg.warmup:
        return cfg.lr * step / cfg.warmup
    span = max(1, cfg.steps - cfg.warmup)
    p = min(1.0, (step - cfg.warmup) / span)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def train(cfg: TrainConfig, on_log: Callable[[LogRow], None] | None = None,
          should_stop: Callable[[], bool] | None = None, model: nn.Module | None = None,
          batches: list | None = None) -> TrainResult:
    """Train (the caller chooses torch's thread count). `model` may be any module with our
    forward(src, tgt) signature and greedy_decode (the bench passes nn.Transformer in a wrapper);
    `batches`, when given, is a pre-generated list of pair lists used in order (cycled)."""
    torch.manual_seed(cfg.seed)
    if model is None:
        model, sv, tv = build_model(cfg)
    else:
        sv, tv = make_vocabs(cfg.task)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    rng = random.Random(f"{cfg.task}:{TRAIN_SEED}:{cfg.seed}")
    sample = TASKS[cfg.task].sample
    val = examples(cfg.task, cfg.eval_n, VAL_SEED)
    res = TrainResult(model, sv, tv, cfg)
    pad = tv.pad_id
    t0 = time.perf_counter()
    hits_in_a_row = 0
    step = 0
    for step in range(1, cfg.steps + 1):
        if should_stop is not None and should_stop():
            res.stopped = "stopped"
            step -= 1
            break
        if cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds:
            res.stopped = "time"
            step -= 1
            break
        pairs = batches[(step - 1) % len(batches)] if batches else [sample(rng) for _ in range(cfg.batch_size)]
        src, tin, tout = encode_batch(pairs, sv, tv)
        lr = _lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(src, tin)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=pad)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if not math.isfinite(loss.item()):
            res.stopped = "diverged"
            break
        evaluate_now = step % cfg.eval_every == 0 or step == cfg.steps
        if step % cfg.log_every == 0 or evaluate_now:
            with torch.no_grad():
                keep = tout != pad
                acc = ((logits.argmax(-1) == tout) & keep).sum().item() / max(1, keep.sum().item())
            row = LogRow(step, float(loss.item()), lr, time.perf_counter() - t0, acc)
            if evaluate_now:
                row.exact_match = exact_match(model, sv, tv, val)
                res.val_exact_match = row.exact_match
                row.elapsed = time.perf_counter() - t0
                hits_in_a_row = hits_in_a_row + 1 if row.exact_match >= cfg.target else 0
            res.history.append(row)
            if on_log is not None:
                on_log(row)
            if hits_in_a_row >= 2:
                res.stopped = "target"
                break
    res.steps = step
    res.seconds = time.perf_counter() - t0
    res.reached_target = res.val_exact_match >= cfg.target
    model.eval()
    return res


def _progress(row: LogRow, total: int) -> None:
    width = 30
    done = int(width * row.step / total)
    bar = "#" * done + "." * (width - done)
    em = f"  exact {row.exact_match:6.1%}" if row.exact_match is not None else ""
    line = (f"\r[{bar}] step {row.step:5d}/{total}  loss {row.loss:.4f}  tok-acc {row.token_acc:6.1%}"
            f"{em}  {row.elapsed:5.1f}s")
    sys.stdout.write(line)
    if row.exact_match is not None:
        sys.stdout.write("\n")
    sys.stdout.flush()


def _positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (threads, steps, evaluation sentences)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _check_out(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Before any training: the checkpoint file may be written. A folder is refused, and so is a
    shipped checkpoint (an existing model/checkpoints/*.pt) unless --force: a short or failed run
    must not replace the model the app serves."""
    from model import checkpoint

    if args.no_save:
        return
    name = args.task
    if args.task in TASKS and args.pe not in (None, "sinusoidal"):
        name = f"{args.task}-{args.pe}-pe"
    if args.out is not None and Path(args.out).expanduser().is_dir():
        ap.error(f"--out {args.out} is a folder; give a file name (e.g. {Path(args.out) / (name + '.pt')})")
    path = checkpoint.checkpoint_path(Path(args.out).expanduser() if args.out else name)
    if path.is_dir():
        ap.error(f"--out {path} is a folder; give a file name")
    shipped = path.exists() and path.resolve().parent == checkpoint.CHECKPOINT_DIR.resolve()
    if shipped and not args.force:
        ap.error(f"{path} is a shipped checkpoint; pass --force to replace it "
                 "(or --out OTHER.pt, or --no-save)")


def main(argv: list[str] | None = None) -> int:
    from model import checkpoint

    ap = argparse.ArgumentParser(prog="python -m model.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=[*CHECKPOINTS, *LM_VARIANTS],
                    help="a task, or a shipped variant (reverse-learned-pe = reverse with learned PE), "
                         "or a decoder-only character LM (lm, lm-sinusoidal, ...: model/lm_train.py)")
    ap.add_argument("--steps", type=_positive_int, default=None)
    ap.add_argument("--pe", choices=["sinusoidal", "learned", "none"], default=None,
                    help="positional encoding (default: the task's; a non-default one names the file TASK-PE-pe.pt)")
    ap.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default 1; LMs: 2)")
    ap.add_argument("--eval-n", type=_positive_int, default=1000, help="held-out sentences for the final score")
    ap.add_argument("--out", default=None, help="checkpoint path (default model/checkpoints/NAME.pt)")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--force", action="store_true", help="replace a shipped checkpoint (model/checkpoints/*.pt)")
    args = ap.parse_args(argv)
    _check_out(ap, args)
    if args.task in LM_VARIANTS:      # decoder-only LMs: their own loop (threads default to 2)
        return lm_main(args.task, steps=args.steps, out=args.out, save=not args.no_save,
                       threads=args.threads or 2)
    torch.set_num_threads(args.threads or 1)
    overrides = {**({"steps": args.steps} if args.steps else {}), **({"pos_encoding": args.pe} if args.pe else {})}
    name = args.task
    if args.task in TASKS and args.pe not in (None, "sinusoidal"):
        name = f"{args.task}-{args.pe}-pe"          # --task reverse --pe learned == reverse-learned-pe
    cfg = default_config(name if name in VARIANTS else args.task, **overrides)
    print(f"checkpoint={name}  task={cfg.task}  pe={cfg.pos_encoding}  threads={torch.get_num_threads()}  config: d_model={cfg.d_model} heads={cfg.n_heads} "
          f"layers={cfg.n_layers}+{cfg.n_layers} d_ff={cfg.d_ff} lr={cfg.lr} warmup={cfg.warmup} "
          f"batch={cfg.batch_size} max steps={cfg.steps}", flush=True)
    res = train(cfg, on_log=lambda r: _progress(r, cfg.steps))
    sys.stdout.write("\n")
    t_eval = time.perf_counter()
    held = examples(cfg.task, args.eval_n, EVAL_SEED)
    em = exact_match(res.model, res.src_vocab, res.tgt_vocab, held)
    print(f"trained {res.steps} steps in {res.seconds:.1f} s (stopped: {res.stopped}); "
          f"validation exact match {res.val_exact_match:.1%}")
    print(f"held-out exact match (greedy, {len(held)} fresh sentences, seed {EVAL_SEED}): {em:.2%} "
          f"[eval {time.perf_counter() - t_eval:.1f} s]")
    print(f"TOTAL train time {res.seconds:.1f} s  -> target 99% within 60 s: "
          f"{'OK' if em >= 0.99 and res.seconds <= 60 else 'MISSED'}")
    if not args.no_save:
        meta = {**res.meta(), "checkpoint": name, "heldout_exact_match": em, "heldout_n": len(held), "torch_threads": torch.get_num_threads()}
        path = checkpoint.save_checkpoint(res.model, res.src_vocab, res.tgt_vocab, meta, args.out or name)
        print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0 if em >= 0.99 else 1


if __name__ == "__main__":
    raise SystemExit(main())
