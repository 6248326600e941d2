"""Generate text with a trained decoder-only LM:

    python -m model.generate --checkpoint lm --prompt "Q: What is RoPE?\\nA:" --max-new 200 --json
    python -m model.generate --checkpoint lm --prompt "Q: 什么是 KV cache？" --max-new 100 --no-cache
    python -m model.generate --checkpoint lm --prompt "A:" --max-new 80 --temperature 0.8 --top-p 0.9 --seed 1

Without --temperature / --top-k / --top-p / --seed the decoding is greedy (arg-max), and gives
the same tokens with and without the KV cache. Any sampling option samples (temperature 1.0
unless given); the same --seed gives the same sample. "\\n" in --prompt is a newline.
--json prints {"tokens": [new token ids], "text": "new text", "ms_per_token": x, ...}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from model.checkpoint import CHECKPOINT_DIR, CheckpointError, load_lm
from model.lm_train import LM_VARIANTS

__all__ = ["generate_text", "main"]


def generate_text(name: str, prompt: str, max_new: int, temperature: float | None = None,
                  top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                  use_cache: bool = True) -> dict:
    """-> {"tokens", "text", "prompt_tokens", "ms_per_token", "seconds", "cache", "sampling"}.
    Greedy when temperature, top_k, top_p and seed are all None. Raises CheckpointError."""
    model, tok = load_lm(name)
    ids = tok.encode(prompt)
    if not ids:
        raise ValueError("empty prompt: type at least one character")
    greedy = temperature is None and top_k is None and top_p is None and seed is None
    t = 0.0 if greedy else (1.0 if temperature is None else temperature)
    idx = torch.tensor([ids], dtype=torch.long)
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = model.generate(idx, max_new, temperature=t, top_k=top_k, top_p=top_p,
                             seed=seed if seed is not None else (None if greedy else 0), use_cache=use_cache)
        seconds = time.perf_counter() - t0
    new = out[0, len(ids):].tolist()
    return {"tokens": new, "text": tok.decode(new), "prompt_tokens": ids,
            "ms_per_token": seconds * 1e3 / max(1, max_new), "seconds": seconds,
            "cache": use_cache, "sampling": "greedy" if greedy else
            {"temperature": t, "top_k": top_k, "top_p": top_p, "seed": seed if seed is not None else 0}}


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _float_in(lo: float, hi: float, lo_open: bool = True):
    def parse(s: str) -> float:
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
        if not (v > lo if lo_open else v >= lo) or v > hi or v != v:
            raise argparse.ArgumentTypeError(f"must be in {'(' if lo_open else '['}{lo}, {hi}], got {s}")
        return v
    return parse


def _seed(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
    if not 0 <= v < 2 ** 63:
        raise argparse.ArgumentTypeError(f"must be in [0, 2^63), got {v}")
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model.generate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="lm", help=f"an LM checkpoint name ({', '.join(LM_VARIANTS)})")
    ap.add_argument("--prompt", required=True, help='text to continue ("\\n" = newline)')
    ap.add_argument("--max-new", type=_positive_int, required=True, help="characters to generate (1..4096)")
    ap.add_argument("--no-cache", action="store_true", help="recompute the whole sequence every step")
    ap.add_argument("--temperature", type=_float_in(0.0, 100.0), default=None)
    ap.add_argument("--top-k", type=_positive_int, default=None)
    ap.add_argument("--top-p", type=_float_in(0.0, 1.0), default=None)
    ap.add_argument("--seed", type=_seed, default=None)
    ap.add_argument("--threads", type=_positive_int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.max_new > 4096:
        ap.error("--max-new must be at most 4096")
    name = args.checkpoint
    if "/" in name or "\\" in name or name.startswith(".") or not name:
        ap.error(f"--checkpoint takes a name such as {', '.join(LM_VARIANTS)}, not a path")
    if not (CHECKPOINT_DIR / f"{name}.pt").is_file():
        ap.error(f"no LM checkpoint named {name!r} in {CHECKPOINT_DIR} (shipped: {', '.join(LM_VARIANTS)}; "
                 f"train one with: python -m model.train --task {name if name in LM_VARIANTS else 'lm'})")
    prompt = args.prompt.replace("\\n", "\n")
    if not prompt:
        ap.error("--prompt is empty: give at least one character")
    torch.set_num_threads(args.threads)
    try:
        model, _ = load_lm(name)
        if model.cfg.pos == "learned" and len(prompt) + args.max_new > model.cfg.max_len:
            ap.error(f"prompt + --max-new = {len(prompt) + args.max_new} exceeds this model's "
                     f"{model.cfg.max_len} learned positions")
        r = generate_text(name, prompt, args.max_new, args.temperature, args.top_k, args.top_p,
                          args.seed, use_cache=not args.no_cache)
    except CheckpointError as exc:
        print(f"python -m model.generate: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"tokens": r["tokens"], "text": r["text"], "ms_per_token": r["ms_per_token"],
                          "checkpoint": name, "cache": r["cache"], "sampling": r["sampling"],
                          "prompt_tokens": len(r["prompt_tokens"])}, ensure_ascii=False))
    else:
        print(prompt + r["text"])
        print(f"\n[{args.max_new} tokens, {r['ms_per_token']:.2f} ms/token, "
              f"{'KV cache' if r['cache'] else 'no cache'}, {r['sampling']}]", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
