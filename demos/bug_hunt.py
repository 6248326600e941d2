"""Bug hunt: small character LMs trained with one injected bug each (model.decoder.BUGS), and the
evidence a learner uses to name the bug: the loss curve, attention heatmaps, generations with and
without the KV cache, and three probes (causality, attention row sums, cache vs recompute).

    python -m demos.bug_hunt --build      # train the clean model and every buggy one (a few minutes)

Assets: model/checkpoints/bugs/<name>.pt (fp16 weights, config, vocabulary, loss history), one per
name in NAMES ("clean" + BUGS), each < 1 MB. The page only loads them; it never trains.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model.decoder import BUGS, DecoderConfig, DecoderLM
from model.lm_data import CharTokenizer, corpus, random_windows

BUG_DIR = Path(__file__).resolve().parents[1] / "model" / "checkpoints" / "bugs"
NAMES = ("clean", *BUGS)
FORMAT = "bug-hunt-1"


@dataclass
class BuildConfig:
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    ctx_len: int = 48
    max_len: int = 256
    batch_size: int = 16
    steps: int = 500
    lr: float = 5e-3
    warmup: int = 20
    min_count: int = 10
    log_every: int = 10
    val_batches: int = 2
    seed: int = 0

    def model_config(self, vocab_size: int, bug: str | None) -> DecoderConfig:
        return DecoderConfig(vocab_size=vocab_size, d_model=self.d_model, n_layers=self.n_layers,
                             n_heads=self.n_heads, n_kv_heads=self.n_kv_heads, max_len=self.max_len,
                             pos="rope", seed=self.seed, bug=bug)


@dataclass
class BuggyLM:
    name: str                                  # "clean" or one of BUGS
    net: DecoderLM                             # eval mode, the bug injected
    tok: CharTokenizer
    history: list[tuple[int, float, float]] = field(default_factory=list)   # (step, train loss, val loss)
    seconds: float = 0.0

    def encode(self, text: str, max_chars: int = 64) -> list[int]:
        """Prompt text -> ids; characters past `max_chars` or outside the vocabulary are dropped."""
        known = set(self.tok.itos[1:])
        return [i for c in text[:max_chars] if c in known for i in self.tok.encode(c)]

    def label(self, i: int) -> str:
        """Token `i` as a visible label (space and newline shown as symbols)."""
        s = self.tok.itos[i]
        return {" ": "␣", "\n": "↵"}.get(s, s)


# ----------------------------------------------------------------------------------------------
# Build (offline)

def train_one(name: str, cfg: BuildConfig, tok: CharTokenizer, train: torch.Tensor, val: torch.Tensor) -> BuggyLM:
    bug = None if name == "clean" else name
    torch.manual_seed(cfg.seed)
    net = DecoderLM(cfg.model_config(len(tok), bug))
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.05)
    gen, vgen = torch.Generator().manual_seed(cfg.seed), torch.Generator().manual_seed(cfg.seed + 1)
    vx, vy = random_windows(val, cfg.batch_size * cfg.val_batches, cfg.ctx_len, vgen)
    hist = []
    t0 = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        lr = cfg.lr * min(1.0, step / cfg.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = random_windows(train, cfg.batch_size, cfg.ctx_len, gen)
        logits = net(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if step % cfg.log_every == 0 or step == 1:
            net.eval()
            with torch.no_grad():
                vl = F.cross_entropy(net(vx).reshape(-1, len(tok)), vy.reshape(-1)).item()
            net.train()
            hist.append((step, round(float(loss.item()), 4), round(vl, 4)))
    net.eval()
    return BuggyLM(name, net, tok, hist, time.perf_counter() - t0)


def save(b: BuggyLM, cfg: BuildConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).clone() for k, v in b.net.state_dict().items()
             if k != "lm_head.weight"}                                            # tied to tok_emb
    payload = {"format": FORMAT, "name": b.name, "build": asdict(cfg), "state_dict": state,
               "itos": list(b.tok.itos), "history": b.history, "seconds": round(b.seconds, 1)}
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def build(names=NAMES, cfg: BuildConfig | None = None, out: Path = BUG_DIR) -> dict[str, float]:
    cfg = cfg or BuildConfig()
    train_text, val_text = corpus()
    tok = CharTokenizer.from_text(train_text, cfg.min_count)
    train = torch.tensor(tok.encode(train_text), dtype=torch.long)
    val = torch.tensor(tok.encode(val_text), dtype=torch.long)
    secs = {}
    for name in names:
        b = train_one(name, cfg, tok, train, val)
        save(b, cfg, out / f"{name}.pt")
        secs[name] = b.seconds
        print(f"{name:20s} {b.seconds:6.1f} s  train {b.history[-1][1]:.3f}  val {b.history[-1][2]:.3f}", flush=True)
    return secs


# ----------------------------------------------------------------------------------------------
# Load (the page)

class AssetError(RuntimeError):
    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


def load(name: str, directory: Path = BUG_DIR) -> BuggyLM:
    """A shipped buggy model with its bug injected (eval mode, fp32)."""
    if name not in NAMES:
        raise AssetError(name, "unknown name")
    path = directory / f"{name}.pt"
    if not path.is_file():
        raise AssetError(name, f"{path.name} not found (python -m demos.bug_hunt --build)")
    try:
        p = torch.load(path, map_location="cpu", weights_only=True)
        if p.get("format") != FORMAT:
            raise ValueError("not a bug-hunt file")
        names = {f.name for f in fields(BuildConfig)}
        cfg = BuildConfig(**{k: v for k, v in p["build"].items() if k in names})
        tok = CharTokenizer(p["itos"])
        net = DecoderLM(cfg.model_config(len(tok), None if name == "clean" else name))
        state = {k: v.float() for k, v in p["state_dict"].items()}
        state["lm_head.weight"] = state["tok_emb.weight"]
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any unreadable or inconsistent file
        raise AssetError(name, f"cannot be read ({type(exc).__name__})") from exc
    return BuggyLM(name, net.eval(), tok, [tuple(r) for r in p["history"]], float(p.get("seconds", 0.0)))


# ----------------------------------------------------------------------------------------------
# Evidence

@dataclass
class Evidence:
    tokens: list[int]
    attn: np.ndarray              # (layers, h, T, T)
    row_sums: float               # max |row sum − 1| of the attention weights
    upper_mass: float             # mean weight on keys after the query (should be 0)
    leak: float                   # max |Δ logits at positions < t| when token t changes (should be 0)
    cache_diff: float             # max |logits with cache − recomputed| over a greedy continuation
    gen_cached: list[int]
    gen_full: list[int]
    entropy: float                # mean entropy (nats) of the attention rows with more than one key


@torch.no_grad()
def evidence(net: DecoderLM, ids: list[int], n_new: int = 60) -> Evidence:
    x = torch.tensor([ids])
    _, attn = net(x, return_attn=True)
    w = torch.stack([a[0] for a in attn])                                  # (L, h, T, T)
    T = len(ids)
    upper = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    # causality probe: change the last token; no earlier position may change
    y = x.clone()
    y[0, -1] = (y[0, -1] + 1) % net.cfg.vocab_size
    leak = float((net(x)[0, :-1] - net(y)[0, :-1]).abs().max()) if T > 1 else 0.0
    # cache probe: greedy with the cache, each step compared with a full recomputation
    cache = net.new_cache(1, T + n_new + 1)
    seq, inp, diff, cached = list(ids), x, 0.0, []
    for _ in range(n_new):
        lg = net(inp, cache)[0, -1]
        full = net(torch.tensor([seq]))[0, -1]
        diff = max(diff, float((lg - full).abs().max()))
        nxt = int(lg.argmax())
        cached.append(nxt)
        seq.append(nxt)
        inp = torch.tensor([[nxt]])
    full_gen = net.generate(x, n_new, temperature=0, use_cache=False)[0, T:].tolist()
    ent = -(w * torch.where(w > 0, w.log(), torch.zeros_like(w))).sum(-1)        # (L, h, T)
    return Evidence(list(ids), w.numpy(), float((w.sum(-1) - 1).abs().max()),
                    float(w[..., upper].mean()) if T > 1 else 0.0, leak, diff, cached, full_gen,
                    float(ent[..., 1:].mean()) if T > 1 else 0.0)


# ----------------------------------------------------------------------------------------------
# Rounds and score (kept per learner by the page in the progress store's settings)

SETTING = "bug_hunt"


def pick_bug(learner_id: int, round_no: int) -> str:
    """The hidden bug of a learner's round: a stable shuffle of BUGS per learner, one pass per len(BUGS) rounds."""
    cycle, i = divmod(round_no, len(BUGS))
    seed = int.from_bytes(hashlib.blake2b(f"{learner_id}:{cycle}".encode(), digest_size=8).digest(), "little")
    order = list(BUGS)
    random.Random(seed).shuffle(order)
    return order[i]


def new_record() -> dict:
    return {"round": 0, "score": 0, "answered": 0, "history": []}


def answer(record: dict, bug: str, guess: str) -> dict:
    """Record one answer for the current round (only the first answer of a round counts)."""
    rec = {**new_record(), **(record or {})}
    rec["history"] = list(rec["history"])
    if rec["history"] and rec["history"][-1]["round"] == rec["round"]:
        return rec
    ok = guess == bug
    rec["history"] = (rec["history"] + [{"round": rec["round"], "bug": bug, "guess": guess, "correct": ok}])[-100:]
    rec["answered"] += 1
    rec["score"] += int(ok)
    return rec


def next_round(record: dict) -> dict:
    rec = {**new_record(), **(record or {})}
    rec["round"] += 1
    return rec


def answered_this_round(record: dict) -> dict | None:
    rec = record or {}
    h = rec.get("history") or []
    return h[-1] if h and h[-1].get("round") == rec.get("round", 0) else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="store_true", help="train and save every model under model/checkpoints/bugs/")
    ap.add_argument("--only", nargs="*", choices=NAMES, help="build only these")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BUG_DIR, help="folder of the .pt files")
    args = ap.parse_args(argv)
    if not args.build:
        ap.print_help()
        return 2
    torch.set_num_threads(args.threads)
    cfg = BuildConfig() if args.steps is None else BuildConfig(steps=args.steps)
    t0 = time.perf_counter()
    build(tuple(args.only) if args.only else NAMES, cfg, args.out)
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
