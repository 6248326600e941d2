"""Evaluate every shipped checkpoint on freshly generated examples: `python -m model.evaluate [--json]`.

Exact match of greedy decoding against the task's correct output, on `--n` sentences from the
held-out stream (model.data.EVAL_SEED, or --seed). Every shipped checkpoint is evaluated: one per
task (model/checkpoints/TASK.pt) and the variants of model.train.VARIANTS (e.g.
reverse-learned-pe.pt, evaluated on the reverse task). With --json the last line printed is
{"tasks": {NAME: {"exact_match": ..., "n": ..., "task": TASK}}} (NAME = checkpoint file stem).

Decoder-only character LMs (lm.pt and the variants of model.lm_train.LM_VARIANTS) report held-out
perplexity per character at their trained context length (model.lm_data.perplexity on the cards
held out from training): {"metric": "perplexity", "value": ..., "threshold": ..., "passed": ...,
"ctx_len": ..., "chars": ...}; passed = value <= threshold (model.lm_train.LM_THRESHOLDS).
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from model.checkpoint import CHECKPOINT_DIR, CheckpointError, lm_meta, load_checkpoint, load_lm
from model.data import EVAL_SEED, examples
from model.lm_data import corpus, perplexity
from model.lm_train import LM_THRESHOLDS, LM_VARIANTS, LMTrainConfig
from model.train import CHECKPOINTS, exact_match


def evaluate(name: str, n: int = 1000, seed: int = EVAL_SEED) -> dict:
    """name: a task or a variant (a key of model.train.CHECKPOINTS)."""
    task = CHECKPOINTS[name]
    model, (sv, tv), meta = load_checkpoint(name, cached=False)
    t0 = time.perf_counter()
    em = exact_match(model, sv, tv, examples(task, n, seed))
    return {"exact_match": em, "n": n, "seed": seed, "task": task, "seconds": round(time.perf_counter() - t0, 3),
            "train_seconds": meta.get("train_seconds"), "train_steps": meta.get("steps"),
            "pos_encoding": model.cfg.pos_encoding}


def evaluate_lm(name: str, val_text: str | None = None) -> dict:
    """Held-out perplexity per character of an LM checkpoint at its trained context length."""
    model, tok = load_lm(name, cached=False)
    meta = lm_meta(name)
    ctx = LMTrainConfig.from_dict(meta.get("train_config") or {}).ctx_len
    if val_text is None:
        val_text = corpus()[1]
    t0 = time.perf_counter()
    ppl = perplexity(model, tok, val_text, ctx)
    threshold = LM_THRESHOLDS[name]
    return {"metric": "perplexity", "value": ppl, "threshold": threshold, "passed": ppl <= threshold,
            "ctx_len": ctx, "chars": len(val_text), "pos": model.cfg.pos,
            "seconds": round(time.perf_counter() - t0, 3), "train_seconds": meta.get("train_seconds"),
            "train_steps": meta.get("steps")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=EVAL_SEED)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for name in CHECKPOINTS:
        if not (CHECKPOINT_DIR / f"{name}.pt").exists():
            continue
        try:
            r = evaluate(name, args.n, args.seed)
        except CheckpointError as exc:
            errors[name] = str(exc)
            print(f"{name:18s} ERROR {exc}")
            continue
        results[name] = r
        print(f"{name:18s} exact match {r['exact_match']:7.2%}  on {r['n']} fresh {r['task']} examples "
              f"(seed {r['seed']}, PE {r['pos_encoding']}, {r['seconds']:.1f} s; "
              f"trained {r['train_steps']} steps in {r['train_seconds']} s)")
    lm_results: dict[str, dict] = {}
    val_text = None
    for name in LM_VARIANTS:
        if not (CHECKPOINT_DIR / f"{name}.pt").exists():
            continue
        if val_text is None:
            val_text = corpus()[1]
        try:
            r = evaluate_lm(name, val_text)
        except CheckpointError as exc:
            errors[name] = str(exc)
            print(f"{name:18s} ERROR {exc}")
            continue
        lm_results[name] = r
        print(f"{name:18s} perplexity {r['value']:7.3f}  (threshold {r['threshold']}, "
              f"{'passed' if r['passed'] else 'FAILED'}) on {r['chars']:,} held-out characters, "
              f"ctx {r['ctx_len']}, pos {r['pos']}, {r['seconds']:.1f} s; "
              f"trained {r['train_steps']} steps in {r['train_seconds']} s")
    if args.json:
        out: dict = {"tasks": {k: {"exact_match": v["exact_match"], "n": v["n"], "task": v["task"]}
                               for k, v in results.items()}}
        out["tasks"].update({k: {key: v[key] for key in ("metric", "value", "threshold", "passed", "ctx_len", "chars")}
                             for k, v in lm_results.items()})
        if errors:
            out["errors"] = errors
        print(json.dumps(out, ensure_ascii=False))
    return 0 if (results and not errors and all(v["exact_match"] >= 0.99 for v in results.values())
                 and all(v["passed"] for v in lm_results.values())) else 1


if __name__ == "__main__":
    raise SystemExit(main())
