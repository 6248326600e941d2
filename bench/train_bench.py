"""Time to 99% exact match: our Transformer against torch.nn.Transformer, side by side.

run(quick=False) -> dict, rows(result) -> [(label, value)].

Both models get the task's default training config (model.train.DEFAULTS), the same wrapper work
(bench.model_bench.TorchReference: embeddings × √d_model + sinusoidal PE in front, a Linear to the
vocabulary behind, the same padding and causal masks), the same optimizer (Adam β=(0.9, 0.98),
warmup + cosine schedule, clipping at 1.0), the same batches in the same order (pre-generated from
one seed), torch.manual_seed before each model is built, and the reference starts with our
embedding and output-projection weights (nn.Transformer's own layers keep torch's init). Training is interleaved in chunks of
`eval_every` steps (ours, torch, ours, …) so load on the machine hits both alike; after every
chunk each model is evaluated (greedy exact match on the validation sentences, not timed). The
time to 99% is the training time (forward + backward + optimizer, no evaluation) until a
model's first evaluation at >= 99%.

quick=True: a few steps of each model, no 99% target (a smoke run).
"""
from __future__ import annotations

import math
import random
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from bench.model_bench import TorchReference
from model.data import TASKS, TRAIN_SEED, examples
from model.train import VAL_SEED, _lr_at, build_model, default_config, encode_batch, exact_match

TASK = "translate"
TARGET = 0.99


class _TorchGreedy(nn.Module):
    """TorchReference plus the greedy_decode used by model.train.exact_match."""

    def __init__(self, cfg):
        super().__init__()
        self.ref = TorchReference(cfg)
        self.cfg = cfg

    def forward(self, src, tgt):
        return self.ref(src, tgt)

    @torch.no_grad()
    def greedy_decode(self, src, bos_id, eos_id, max_len=32):
        B = src.shape[0]
        ys = torch.full((B, 1), bos_id, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        for _ in range(min(max_len, self.cfg.max_len - 1)):
            logits = self.ref(src, ys)[:, -1]
            logits[:, [self.cfg.pad_id, bos_id]] = float("-inf")
            nxt = torch.where(done, torch.full((B,), self.cfg.pad_id), logits.argmax(-1))
            ys = torch.cat([ys, nxt[:, None]], 1)
            done |= nxt == eos_id
            if bool(done.all()):
                break
        out = []
        for row in ys[:, 1:].tolist():
            seq = []
            for t in row:
                seq.append(t)
                if t == eos_id:
                    break
            out.append(seq)
        return out


def _trainer(model, cfg, batches, sv, tv):
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    state = {"step": 0, "train_s": 0.0, "reached_at_s": None, "reached_at_step": None, "em": []}

    def chunk(n: int) -> None:
        model.train()
        t0 = time.perf_counter()
        for _ in range(n):
            state["step"] += 1
            src, tin, tout = batches[(state["step"] - 1) % len(batches)]
            for g in opt.param_groups:
                g["lr"] = _lr_at(state["step"], cfg)
            logits = model(src, tin)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=tv.pad_id)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        state["train_s"] += time.perf_counter() - t0
        state["loss"] = float(loss)

    return state, chunk


def run(quick: bool = False, num_threads: int | None = 1) -> dict:
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _run(quick)
    finally:
        torch.set_num_threads(previous)


def _run(quick: bool) -> dict:
    cfg = default_config(TASK)
    max_steps = 20 if quick else 2 * cfg.steps
    chunk_n = 10 if quick else cfg.eval_every
    rng = random.Random(f"bench:{TASK}:{TRAIN_SEED}")
    sample = TASKS[TASK].sample
    torch.manual_seed(cfg.seed)
    ours, sv, tv = build_model(cfg)
    batches = [encode_batch([sample(rng) for _ in range(cfg.batch_size)], sv, tv) for _ in range(max_steps)]
    torch.manual_seed(cfg.seed)
    ref = _TorchGreedy(cfg.model_config(len(sv), len(tv)))
    with torch.no_grad():   # same wrapper weights at the start: embeddings and output projection
        for a, b in ((ref.ref.src_embed, ours.src_embed), (ref.ref.tgt_embed, ours.tgt_embed),
                     (ref.ref.generator, ours.generator)):
            for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
                pa.copy_(pb)
    val = examples(TASK, 100 if quick else cfg.eval_n, VAL_SEED)
    models = {"ours": ours, "torch": ref}
    states = {}
    for name, m in models.items():
        states[name] = _trainer(m, cfg, batches, sv, tv)
    while any(s["step"] < max_steps and s["reached_at_s"] is None for s, _ in states.values()):
        for name in ("ours", "torch"):
            s, chunk = states[name]
            if s["step"] >= max_steps or s["reached_at_s"] is not None:
                continue
            chunk(chunk_n)
            em = exact_match(models[name], sv, tv, val)
            s["em"].append((s["step"], em))
            if em >= TARGET and not quick:
                s["reached_at_s"], s["reached_at_step"] = s["train_s"], s["step"]
    so, st = states["ours"][0], states["torch"][0]
    out = {
        "train_task": TASK,
        "train_threads": torch.get_num_threads(),
        "train_config": f"d_model={cfg.d_model} heads={cfg.n_heads} layers={cfg.n_layers}+{cfg.n_layers} "
                        f"d_ff={cfg.d_ff} batch={cfg.batch_size} lr={cfg.lr} warmup={cfg.warmup}",
        "train_quick": quick,
        "train_steps_ours": so["step"], "train_steps_torch": st["step"],
        "train_ms_per_step_ours": 1e3 * so["train_s"] / max(1, so["step"]),
        "train_ms_per_step_torch": 1e3 * st["train_s"] / max(1, st["step"]),
        "train_final_em_ours": so["em"][-1][1], "train_final_em_torch": st["em"][-1][1],
    }
    if not quick:
        out.update({
            "time_to_99_s_ours": so["reached_at_s"], "time_to_99_s_torch": st["reached_at_s"],
            "steps_to_99_ours": so["reached_at_step"], "steps_to_99_torch": st["reached_at_step"],
            "time_to_99_ratio_vs_torch": (so["reached_at_s"] / st["reached_at_s"])
            if so["reached_at_s"] and st["reached_at_s"] else math.nan,
        })
    return out


def rows(result: dict) -> list[tuple[str, str]]:
    r = result
    out = [
        ("Task / config", f"{r['train_task']}: {r['train_config']}"),
        ("Threads", str(r["train_threads"])),
        ("ms per train step, ours / torch (ratio)",
         f"{r['train_ms_per_step_ours']:.1f} / {r['train_ms_per_step_torch']:.1f} "
         f"({r['train_ms_per_step_ours'] / r['train_ms_per_step_torch']:.2f})"),
    ]
    if r["train_quick"]:
        out.append(("Quick run", f"{r['train_steps_ours']} steps each, no 99% target"))
        return out

    def fmt(s, n):
        return f"{s:.1f} s ({n} steps)" if s else f"not reached in {r['train_steps_ours']} steps"

    out += [
        ("Time to 99% exact match, ours", fmt(r["time_to_99_s_ours"], r["steps_to_99_ours"])),
        ("Time to 99% exact match, nn.Transformer", fmt(r["time_to_99_s_torch"], r["steps_to_99_torch"])),
        ("Time-to-99% ratio ours ÷ torch (target ≤ 1.2)", f"{r['time_to_99_ratio_vs_torch']:.2f}"),
    ]
    return out


if __name__ == "__main__":
    res = run()
    for k, v in rows(res):
        print(f"{k:50s} {v}")
