"""Shape tracer: the tensor's shape at every step of a real forward pass of our Transformer.

The shapes come from model.Trace.shapes (recorded by the model while it runs); this module only
names each step, attaches the symbolic shape (B, S, T, d_model, h, d_k, d_ff, V) that explains it,
and checks a learner's guesses.

Symbols: B batch, S source length, T target length (decoder input = <bos> + target), d_model,
h heads, d_k = d_model / h, d_ff = 4·d_model (the FFN's hidden width), V vocabulary size.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace

import torch

from demos.background import start_once
from model import HashVocab, Transformer, TransformerConfig, tokenize

VOCAB = 1000
SYMBOLS = ("B", "S", "T", "h", "d_k", "d_model", "d_ff", "V")
D_MODEL_OPTIONS = (16, 32, 64, 128, 256, 512)
HEAD_OPTIONS = (1, 2, 4, 8)
MAX_B, MAX_LEN, MAX_LAYERS = 8, 16, 4
MAX_SENTENCE_CHARS = 300
SEPARATOR = "|"

# the steps a quiz asks about (first layer of each stack; later layers repeat these shapes)
QUIZ_STEPS = (
    "src tokens", "src embedding", "enc0 Q", "enc0 scores", "enc0 context", "enc0 concat heads",
    "enc0 FFN hidden", "memory", "tgt tokens", "dec0 self scores", "dec0 cross Q", "dec0 cross K",
    "dec0 cross scores", "dec0 cross context", "dec0 FFN hidden", "logits",
)


@dataclass(frozen=True)
class Step:
    name: str                      # the model's step name, e.g. "dec1 cross scores"
    shape: tuple[int, ...]         # the real shape
    symbols: tuple[str, ...]       # e.g. ("B", "h", "T", "S")
    stack: str                     # "src" | "enc" | "memory" | "tgt" | "dec_self" | "dec_cross" | "dec" | "out"
    layer: int | None              # 0-based layer, None outside the stacks
    part: str                      # i18n-able part name: tokens, embedding, scale, pe, Q, K, V, scores, ...


@dataclass
class ShapeTrace:
    steps: list[Step]
    values: dict[str, int]         # symbol -> number
    trace: object                  # model.Trace (its tensors, for checking)
    src_tokens: list[list[str]]    # typed sentences, padded with <pad> (or sampled ids as strings)


_STEP = re.compile(r"^(enc|dec)(\d+) (?:(self|cross) )?(.+)$")


def describe(name: str) -> tuple[str, int | None, str]:
    """A step name -> (stack, layer, part)."""
    m = _STEP.match(name)
    if m:
        side, layer, sub, part = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        stack = "enc" if side == "enc" else (f"dec_{sub}" if sub else "dec")
        return stack, layer, _part(part)
    if name in ("memory", "logits"):
        return ("memory" if name == "memory" else "out"), None, name
    if name in ("enc final norm", "dec final norm"):
        return name[:3], None, "final_norm"
    side, _, rest = name.partition(" ")
    return side, None, _part(rest)


def _part(text: str) -> str:
    return {
        "tokens": "tokens", "embedding": "embedding", "× √d_model": "scale", "+ positional encoding": "pe",
        "Q": "Q", "K": "K", "V": "V", "scores": "scores", "weights": "weights", "context": "context",
        "concat heads": "concat", "attn out": "attn_out", "add & norm 1": "add_norm", "add & norm 2": "add_norm",
        "add & norm 3": "add_norm", "FFN hidden": "ffn_hidden", "FFN out": "ffn_out",
    }.get(text, text)


def symbols_for(name: str) -> tuple[str, ...]:
    """The symbolic shape of a step, from what the step is (not from its numbers)."""
    stack, _, part = describe(name)
    q_len = {"src": "S", "enc": "S", "memory": "S"}.get(stack, "T")
    k_len = "S" if stack in ("src", "enc", "memory", "dec_cross") else "T"
    if part == "tokens":
        return ("B", q_len)
    if part in ("embedding", "scale", "pe", "concat", "attn_out", "add_norm", "ffn_out", "final_norm", "memory"):
        return ("B", q_len, "d_model")
    if part == "Q" or part == "context":
        return ("B", "h", q_len, "d_k")
    if part in ("K", "V"):
        return ("B", "h", k_len, "d_k")
    if part in ("scores", "weights"):
        return ("B", "h", q_len, k_len)
    if part == "ffn_hidden":
        return ("B", q_len, "d_ff")
    if part == "logits":
        return ("B", "T", "V")
    raise ValueError(f"unknown step {name!r}")


def evaluate(symbols: tuple[str, ...], values: dict[str, int]) -> tuple[int, ...]:
    return tuple(values[s] for s in symbols)


def parse_sentences(text: str | None) -> list[list[str]]:
    """Sentences separated by '|' (or new lines) -> token lists; empty pieces dropped."""
    text = (text or "")[:MAX_SENTENCE_CHARS]
    out = []
    for piece in re.split(r"[|\n]", text):
        if piece.strip():
            try:
                out.append(tokenize(piece))
            except ValueError:
                continue
    return out


META_ABOVE_PARAMS = 2_000_000   # larger models are traced on the meta device (see run_trace)


def approx_params(d_model: int, layers: int) -> int:
    """Weights of the layers (encoder 4d²+8d², decoder 8d²+8d² with d_ff = 4d), embeddings aside."""
    return 28 * d_model * d_model * layers


def run_trace(B: int = 2, S: int = 5, T: int = 4, d_model: int = 64, heads: int = 4, layers: int = 2,
              sentences: list[list[str]] | None = None, seed: int = 0, device: str = "cpu") -> ShapeTrace:
    """One traced forward pass of a random-init model with these sizes. With `sentences`, the
    batch is those sentences (B = their number, S = the longest, shorter ones padded).

    device="meta" runs the same forward code on PyTorch's meta device: tensors carry shapes and
    no data, so a 30M-parameter configuration costs no weight initialisation, no arithmetic and
    no memory (~70 ms instead of ~400 ms and 120 MB of short-lived allocations); the recorded
    shapes are identical (tested). The trace then holds no numbers."""
    if d_model % heads:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    vocab = HashVocab(VOCAB)
    g = torch.Generator().manual_seed(seed)
    if sentences:
        sentences = [s[:MAX_LEN] for s in sentences[:MAX_B]]
        B, S = len(sentences), max(len(s) for s in sentences)
        rows = [[vocab.token_to_id(t) for t in s] + [vocab.pad_id] * (S - len(s)) for s in sentences]
        src = torch.tensor(rows, dtype=torch.long)
        shown = [s + ["<pad>"] * (S - len(s)) for s in sentences]
    else:
        src = torch.randint(4, VOCAB, (B, S), generator=g)
        shown = [[f"#{i}" for i in row] for row in src.tolist()]
    tgt = torch.cat([torch.full((B, 1), vocab.bos_id), torch.randint(4, VOCAB, (B, T - 1), generator=g)], 1)
    cfg = TransformerConfig(src_vocab_size=VOCAB, tgt_vocab_size=VOCAB, d_model=d_model, n_heads=heads,
                            n_layers=layers, d_ff=4 * d_model, dropout=0.0, max_len=max(MAX_LEN, S, T), seed=seed)
    with torch.device(device):
        net = Transformer(cfg).eval()
    with torch.inference_mode():
        _, tr = net(src.to(device), tgt.to(device), trace=True)
    values = {"B": B, "S": S, "T": T, "h": heads, "d_k": d_model // heads, "d_model": d_model,
              "d_ff": 4 * d_model, "V": VOCAB}
    steps = []
    for name, shape in tr.shapes:
        stack, layer, part = describe(name)
        steps.append(Step(name, tuple(shape), symbols_for(name), stack, layer, part))
    return ShapeTrace(steps, values, tr, shown)


def page_trace(B: int, S: int, T: int, d_model: int, heads: int, layers: int,
               sentences: tuple[tuple[str, ...], ...] | None) -> ShapeTrace:
    """The page's trace: big configurations run on the meta device (shapes without numbers: fast,
    no memory churn), and the traced tensors are dropped (the page shows shapes only; up to ~50 MB)."""
    device = "meta" if approx_params(d_model, layers) > META_ABOVE_PARAMS else "cpu"
    run = run_trace(B, S, T, d_model, heads, layers, [list(s) for s in sentences] if sentences else None,
                    device=device)
    return replace(run, trace=None)


def typed_batch(typed: list[list[str]]) -> tuple[tuple[str, ...], ...] | None:
    """The typed sentences a trace uses (at most MAX_B, each cut to MAX_LEN tokens); None: none typed."""
    return tuple(tuple(s[:MAX_LEN]) for s in typed[:MAX_B]) if typed else None


def typed_sizes(typed: list[list[str]]) -> tuple[int, int]:
    """(B, S) the typed sentences set: their number and the longest, within MAX_B and MAX_LEN."""
    return min(len(typed), MAX_B), min(max(len(x) for x in typed[:MAX_B]), MAX_LEN)


def sentences_cut(text: str, typed: list[list[str]]) -> bool:
    """Whether the typed batch lost something: more than MAX_B sentences, a sentence over MAX_LEN
    tokens, or text that reached MAX_SENTENCE_CHARS."""
    pieces = [p for p in text.replace("\n", SEPARATOR).split(SEPARATOR) if p.strip()]
    return len(pieces) > MAX_B or any(len(s) > MAX_LEN for s in typed) or len(text) >= MAX_SENTENCE_CHARS


def random_sizes(rng: random.Random | None = None) -> dict[str, int]:
    """Quiz sizes: B, S, T, h, d_k and d_model all different numbers (so every answer is unambiguous)."""
    rng = rng or random.Random()
    while True:
        d_model = rng.choice(D_MODEL_OPTIONS[:4])
        heads = rng.choice([h for h in HEAD_OPTIONS if h > 1 and d_model // h > 1])
        B, S, T = rng.randint(2, 6), rng.randint(3, 12), rng.randint(2, 12)
        vals = [B, S, T, heads, d_model // heads, d_model]
        if len(set(vals)) == len(vals):
            break
    return {"B": B, "S": S, "T": T, "d_model": d_model, "heads": heads, "layers": rng.randint(1, 3)}


def warm_up_meta() -> None:
    """Once per process, in the background: the meta device's first forward costs ~1 s (its
    kernels are set up lazily); later ones ~70 ms."""
    start_once("shapes-meta-warm-up", lambda: run_trace(1, 1, 1, 16, 1, 1, device="meta"))


def compact(steps: list[Step]) -> list[Step]:
    """Only the first layer of each stack (the others repeat its shapes)."""
    return [s for s in steps if s.layer in (None, 0)]


# ----------------------------------------------------------------------------------------------
# The quiz

_SPLIT = re.compile(r"\s*(?:,|×|\*|x(?![_a-z])|\s)\s*", re.IGNORECASE)
_ALIASES = {"b": "B", "s": "S", "t": "T", "h": "h", "dk": "d_k", "d_k": "d_k", "dmodel": "d_model",
            "d_model": "d_model", "d": "d_model", "dff": "d_ff", "d_ff": "d_ff", "v": "V", "n": "h"}


def parse_guess(text: str | None, values: dict[str, int]) -> tuple[int, ...] | None:
    """A learner's shape: numbers and/or symbols, with any brackets and separators:
    "(2, 4, 5, 16)", "2x4x5x16", "[2 4 5 16]", "B, h, S, d_k", "B×T×V". None when unreadable."""
    if not text or len(text) > 200:
        return None
    body = text.strip().strip("()[]{}").replace("torch.Size", "").strip().strip("()[]{}")
    if not body:
        return None
    out = []
    for piece in _SPLIT.split(body):
        if not piece:
            continue
        key = piece.lower().replace("-", "_")
        if piece.isdigit():
            out.append(int(piece))
        elif key in _ALIASES:
            out.append(values[_ALIASES[key]])
        else:
            return None
    return tuple(out) or None


def check_guess(text: str | None, shape: tuple[int, ...], values: dict[str, int]) -> bool | None:
    """True / False, or None when the guess cannot be read (or is empty)."""
    guess = parse_guess(text, values)
    if guess is None:
        return None
    return guess == tuple(shape)


def quiz_steps(st: ShapeTrace) -> list[Step]:
    by_name = {s.name: s for s in st.steps}
    return [by_name[n] for n in QUIZ_STEPS if n in by_name]
