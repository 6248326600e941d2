"""The decoder-only LM behind the LLM pages (KV cache, RoPE, GQA, sampling, bug hunt).

    live = load("lm")            # LiveLM: the trained character LM, or a random-init stand-in
    ids, dropped = encode(live, "注意力")
    text = decode(live, ids)

Plain torch (no Streamlit); pages keep the LiveLM per process through ui.compute.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from model.checkpoint import CheckpointError, lm_meta, load_lm
from model.decoder import DecoderConfig, DecoderLM

MAX_PROMPT_CHARS = 120
RANDOM_CHARS = ("\n !\"'(),-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经")


class CharTokenizer:
    """One token per character (the stand-in's vocabulary: ASCII letters, digits, a few common hanzi)."""

    def __init__(self, chars: str):
        self.itos = list(dict.fromkeys(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def encode(self, text: str) -> list[int]:
        return [self.stoi[c] for c in text if c in self.stoi]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.itos[i] for i in ids)


@dataclass
class LiveLM:
    net: DecoderLM
    tok: Any                       # encode(str) -> ids, decode(ids) -> str, itos
    trained: bool
    name: str
    reason: str = ""               # why the trained checkpoint is not used
    info: dict = field(default_factory=dict)

    @property
    def cfg(self) -> DecoderConfig:
        return self.net.cfg


def random_lm(**overrides: Any) -> LiveLM:
    """A random-init model of the shipped LM's shape (the stand-in, and small variants for timing)."""
    tok = CharTokenizer(RANDOM_CHARS)
    kw = {"vocab_size": len(tok.itos), "d_model": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2,
          "max_len": 256, "pos": "rope"} | overrides
    return LiveLM(DecoderLM(DecoderConfig(**kw)).eval(), tok, False, "random")


def load(name: str = "lm", bug: str | None = None) -> LiveLM:
    """The trained LM checkpoint `name` (eval mode; a path for files outside model/checkpoints),
    else the random stand-in with the reason. The loaded net is shared (model.checkpoint caches
    it): callers must not modify it."""
    try:
        net, tok = load_lm(name, bug=bug)
        meta = lm_meta(name)
    except CheckpointError as exc:
        live = random_lm(bug=bug)
        live.reason = exc.reason
        return live
    return LiveLM(net.eval(), tok, True, str(name), info=meta)


def encode(live: LiveLM, text: str, max_chars: int = MAX_PROMPT_CHARS) -> tuple[list[int], list[str]]:
    """Prompt text -> token ids; characters outside the vocabulary are dropped and returned."""
    text = (text or "")[:max_chars]
    known = set(live.tok.itos[1:] if live.tok.itos and live.tok.itos[0] == "\ufffd" else live.tok.itos)
    dropped = list(dict.fromkeys(c for c in text if c not in known))
    return [i for c in text if c in known for i in live.tok.encode(c)], dropped


def decode(live: LiveLM, ids: list[int]) -> str:
    return live.tok.decode(list(ids))


def token_label(live: LiveLM, i: int) -> str:
    """A token as a visible label (space, newline and tab shown as symbols)."""
    s = live.tok.itos[i]
    return {" ": "␣", "\n": "↵", "\t": "⇥"}.get(s, s)


def best_ms(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Fastest wall-clock milliseconds of fn() over `repeats` runs (after `warmup` runs): the
    minimum is the least disturbed by other work on a shared CPU."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return min(times)


@torch.no_grad()
def decode_step_ms(net: DecoderLM, T: int, use_cache: bool, repeats: int = 5, batch: int = 1) -> float:
    """Time of producing the next token's logits at context length T (T-1 tokens before it):
    with the cache one token goes through the model (the T-1 earlier ones are prefilled, untimed);
    without it the whole prefix of T tokens is recomputed."""
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, net.cfg.vocab_size, (batch, T), generator=g)
    if not use_cache:
        return best_ms(lambda: net(idx)[:, -1], repeats)
    cache = net.new_cache(batch, T)
    net(idx[:, : T - 1], cache)

    def step():
        cache.length = T - 1           # drop the token the previous run appended
        return net(idx[:, T - 1:], cache)[:, -1]

    return best_ms(step, repeats)
