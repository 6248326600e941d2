"""The computations behind the Masks demo (plain torch, no Streamlit).

Everything runs on OUR model (model.transformer) with a HashVocab, so any typed sentence works:

* parse_batch(text)        one sentence per line -> token lists, ids (B, T) right-padded with <pad>=0
* masks(ids)               padding (B,1,1,T), causal (1,1,T,T), combined (B,1,T,T), scores shape
* run(ids)                 the model's forward trace (src = tgt = the batch): real scores / masked / weights
* key_vs_query(ids, mode)  masking keys vs masking only queries, and what pad content does to outputs
* nan_row(scores)          a fully masked row: −inf (NaN), a large finite negative (uniform), our guard (0)
* mlm_mask(tokens, seed)   BERT's input corruption: 15% selected; 80% [MASK], 10% random, 10% unchanged
* leak(ids, pos, token)    change one target token; max |Δ| of decoder outputs per position
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from model import (
    PAD,
    HashVocab,
    Transformer,
    TransformerConfig,
    make_causal_mask,
    make_pad_mask,
    scaled_dot_product_attention,
    tokenize,
)

VOCAB_SIZE = 512
MAX_SENTENCES = 6
MAX_TOKENS = 16
MAX_CHARS = 600
DEFAULT_SENTENCES = "我爱自然语言处理\nAttention is all you need\n掩码 hides the future\nHello 世界"
MASK_TOKEN = "[MASK]"
KEY_MODES = ("keys", "queries")
LARGE_NEGATIVE = -1e9
# Tokens BERT's "random replacement" may draw (plus the batch's own tokens).
RANDOM_POOL = ("the", "cat", "sat", "on", "mat", "model", "学", "习", "猫", "狗", "书", "天")


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Our tensors are tiny: one intra-op thread is ~100× faster than several on a busy CPU
    (measured: a traced forward 1.5 ms vs 250 ms with 2 threads under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class BatchError(ValueError):
    """Unusable input; `code` names the message (i18n key masks.err_<code>)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class Batch:
    tokens: list[list[str]]                 # real tokens of each sentence (after truncation)
    ids: torch.Tensor                       # (B, T) right-padded with PAD id 0
    notes: list[str] = field(default_factory=list)   # i18n codes of what was cut

    @property
    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]

    def padded_tokens(self) -> list[list[str]]:
        T = self.ids.shape[1]
        return [t + [PAD] * (T - len(t)) for t in self.tokens]

    def real(self) -> np.ndarray:
        """(B, T) True at real tokens, False at padding."""
        return (self.ids != 0).numpy()

    def default_row(self, longest: bool) -> int:
        """The sentence a view opens on: the longest (BERT, leak check) or the shortest (most pads)."""
        if len(self.tokens) <= 1:
            return 0
        return int((np.argmax if longest else np.argmin)(self.lengths))


@functools.cache
def vocab() -> HashVocab:
    return HashVocab(VOCAB_SIZE)


def config() -> TransformerConfig:
    return TransformerConfig(src_vocab_size=VOCAB_SIZE, tgt_vocab_size=VOCAB_SIZE, d_model=32, n_heads=4,
                             n_layers=2, d_ff=64, dropout=0.0, seed=0)


@functools.cache
@one_thread()
def model() -> Transformer:
    """Our Transformer, seeded and untrained (masks do not need training), in eval mode."""
    return Transformer(config()).eval()


def parse_batch(text: str) -> Batch:
    """One sentence per line (blank lines skipped). Raises BatchError('empty') when nothing is left.
    Keeps at most MAX_SENTENCES lines and MAX_TOKENS tokens per line (noted in `notes`)."""
    notes: list[str] = []
    if text is None:
        raise BatchError("empty")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notes.append("too_long")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise BatchError("empty")
    if len(lines) > MAX_SENTENCES:
        lines = lines[:MAX_SENTENCES]
        notes.append("too_many_lines")
    v = vocab()
    tokens: list[list[str]] = []
    for line in lines:
        toks = tokenize(line)
        if len(toks) > MAX_TOKENS:
            toks = toks[:MAX_TOKENS]
            if "too_many_tokens" not in notes:
                notes.append("too_many_tokens")
        tokens.append(toks)
    T = max(len(t) for t in tokens)
    ids = torch.zeros(len(tokens), T, dtype=torch.long)
    for b, toks in enumerate(tokens):
        ids[b, : len(toks)] = torch.tensor([v.token_to_id(t) for t in toks])
    return Batch(tokens, ids, notes)


# ----------------------------------------------------------------------------------------------
# Masks and their broadcast shapes

def masks(ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """The model's masks for a batch used as both source and target (True = may attend)."""
    pad = make_pad_mask(ids, 0)                       # (B, 1, 1, T)
    causal = make_causal_mask(ids.shape[1])           # (1, 1, T, T)
    return {"padding": pad, "causal": causal, "combined": pad & causal}   # (B, 1, T, T)


def mask_grids(ids: torch.Tensor, row: int) -> dict[str, np.ndarray]:
    """The (T, T) bool grids sentence `row` sees: padding (broadcast over the queries), causal, combined."""
    m = masks(ids)
    B, T = ids.shape
    return {"padding": m["padding"].expand(B, 1, T, T)[row, 0].numpy(), "causal": m["causal"][0, 0].numpy(),
            "combined": m["combined"][row, 0].numpy()}


def attention_grids(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(L, L) bool grids of who may attend to whom: bidirectional (BERT's encoder) and causal (a decoder)."""
    full = np.ones((length, length), dtype=bool)
    return full, np.tril(full)


def shapes(ids: torch.Tensor, n_heads: int) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """[(name, numeric shape, symbolic shape)] of the masks and the scores they broadcast against."""
    m = masks(ids)
    B, T = ids.shape
    return [
        ("padding", tuple(m["padding"].shape), ("B", "1", "1", "T")),
        ("causal", tuple(m["causal"].shape), ("1", "1", "T", "T")),
        ("combined", tuple(m["combined"].shape), ("B", "1", "T", "T")),
        ("scores", (B, n_heads, T, T), ("B", "h", "T", "T")),
    ]


# ----------------------------------------------------------------------------------------------
# The model's trace

@dataclass
class AttnView:
    """One sentence, one head, one attention layer: the four steps as (T, T) arrays."""
    scaled: np.ndarray      # scores ÷ √d_k, before masking
    masked: np.ndarray      # −inf where masked
    weights: np.ndarray     # softmax (masked entries exactly 0)
    mask: np.ndarray        # bool (T, T) after broadcasting


@torch.no_grad()
@one_thread()
def run(ids: torch.Tensor):
    """Forward with trace, src = tgt = the batch. Returns the Trace."""
    _, tr = model()(ids, ids, trace=True)
    return tr


def attn_view(trace, kind: str, row: int, head: int, layer: int = 0) -> AttnView:
    """kind 'encoder' (padding mask) or 'decoder' (combined mask: causal AND padding)."""
    at = trace.encoder[layer].self_attn if kind == "encoder" else trace.decoder[layer].self_attn
    T = at.scores.shape[-1]
    mask = at.mask.expand(at.scores.shape[0], 1, T, T)[row, 0].numpy()
    return AttnView(at.scaled[row, head].numpy(), at.masked[row, head].numpy(),
                    at.weights[row, head].numpy(), mask)


# ----------------------------------------------------------------------------------------------
# Masking keys vs masking queries

@dataclass
class KeyQueryResult:
    mode: str
    mask_shape: tuple[int, ...]
    weights: np.ndarray             # (B, h, T, T) with the real pad content
    out: np.ndarray                 # (B, T, d) attention output, real pad content
    out_other: np.ndarray           # (B, T, d) same, pads filled with other content
    delta_real: np.ndarray          # (B, T) max_d |out − out_other|, NaN at pad positions
    pad_weight: np.ndarray          # (B, T) total weight each query puts on pad keys


def key_query_metrics(res: KeyQueryResult, real: np.ndarray) -> tuple[float, float]:
    """(largest change of a real token's output when the pads' content changes, largest total
    weight a real query puts on pad keys); `real` is the (B, T) mask of real tokens."""
    delta = float(np.nanmax(res.delta_real)) if np.isfinite(res.delta_real).any() else 0.0
    return delta, float(np.max(np.where(real, res.pad_weight, 0.0)))


def mode_mask(ids: torch.Tensor, mode: str) -> torch.Tensor:
    """keys: (B, 1, 1, T) — a column per pad; queries: (B, 1, T, 1) — a row per pad (the mistake)."""
    real = ids != 0
    if mode == "keys":
        return real[:, None, None, :]
    if mode == "queries":
        return real[:, None, :, None]
    raise ValueError(f"unknown mode {mode!r}; use one of {KEY_MODES}")


@torch.no_grad()
@one_thread()
def key_vs_query(ids: torch.Tensor, mode: str, seed: int = 0) -> KeyQueryResult:
    """Run the first encoder self-attention of our model on the batch's embeddings, masked as
    `mode`, twice: with the real pad content (pad embedding + positional encoding) and with the
    pad positions replaced by other vectors (what a different pad token / garbage would give)."""
    net = model()
    x = net._embed(ids, net.src_embed, None, "src")                  # (B, T, d)
    pad = ids == 0
    g = torch.Generator().manual_seed(seed)
    other = torch.randn(x.shape, generator=g) * 2.0
    x_other = torch.where(pad[..., None], other, x)
    attn = net.encoder.layers[0].self_attn
    mask = mode_mask(ids, mode)
    out, tr = attn(x, x, x, mask, return_trace=True)
    out_other = attn(x_other, x_other, x_other, mask)
    delta = (out - out_other).abs().amax(-1)                          # (B, T)
    delta = torch.where(pad, torch.nan, delta)
    pad_w = (tr.weights * pad[:, None, None, :]).sum(-1).mean(1)      # (B, T), mean over heads
    return KeyQueryResult(mode, tuple(mask.shape), tr.weights.numpy(), out.numpy(), out_other.numpy(),
                          delta.numpy(), pad_w.numpy())


# ----------------------------------------------------------------------------------------------
# Fully masked rows

@dataclass
class NanRow:
    scores: np.ndarray          # the row's scores before masking
    inf_softmax: np.ndarray     # softmax with every entry −inf: NaN
    finite_softmax: np.ndarray  # with every entry LARGE_NEGATIVE: uniform 1/T
    guarded: np.ndarray         # our scaled_dot_product_attention: all 0
    guarded_context: np.ndarray # its context row: all 0 (finite)
    fp16_large_negative: float  # LARGE_NEGATIVE cast to float16 (−inf: overflow)


@one_thread()
def nan_row(scores: np.ndarray) -> NanRow:
    s = torch.as_tensor(np.asarray(scores, dtype=np.float32))
    T = s.shape[-1]
    inf_sm = torch.softmax(torch.full_like(s, float("-inf")), -1)
    fin_sm = torch.softmax(s + LARGE_NEGATIVE, -1)          # additive mask on every key
    # our attention on one query whose keys are all masked: q·k = s exactly with q = s, k = I
    q = s[None, :]                                   # (1, T)
    k = torch.eye(T)                                 # (T, T)
    v = torch.arange(1.0, T + 1.0)[:, None].repeat(1, 2)
    ctx, w = scaled_dot_product_attention(q, k, v, torch.zeros(1, T, dtype=torch.bool), scale=False)
    return NanRow(s.numpy(), inf_sm.numpy(), fin_sm.numpy(), w[0].numpy(), ctx[0].numpy(),
                  float(torch.tensor(LARGE_NEGATIVE, dtype=torch.float16)))


def format_vector(a: np.ndarray) -> str:
    """[0.25, NaN, 1] with three significant digits."""
    return "[" + ", ".join("NaN" if np.isnan(x) else f"{x:.3g}" for x in a) + "]"


def nan_table(nr: NanRow) -> list[tuple[str, str]]:
    """(weights, row sum) as text for −inf softmax, finite large-negative softmax and the guard."""
    return [(format_vector(w), format_vector(w.sum(keepdims=True)))
            for w in (nr.inf_softmax, nr.finite_softmax, nr.guarded)]


def left_pad_example(T: int) -> tuple[int, int, np.ndarray, list[int], list[str]]:
    """The left-padding example beside a batch of length T: n real tokens (1 to 3) after pads,
    `total` ≥ n + 2 positions. Returns (n, total, mask, fully masked rows, labels)."""
    n_real = max(1, min(3, T - 1)) if T > 1 else 1
    total = max(T, n_real + 2)
    mask, empty = left_padded_rows(n_real, total)
    toks = [PAD] * (total - n_real) + ["w"] * n_real
    return n_real, total, mask, empty, [f"{t}{i}" if t == "w" else t for i, t in enumerate(toks)]


def left_padded_rows(length: int, total: int) -> tuple[np.ndarray, list[int]]:
    """A left-padded sequence (pads first) under padding AND causal masks: the bool (T, T) mask
    and the query rows with no key left (fully masked: the case the guard exists for)."""
    ids = torch.zeros(1, total, dtype=torch.long)
    ids[0, total - length:] = 5
    m = (make_pad_mask(ids) & make_causal_mask(total))[0, 0]
    empty = [i for i in range(total) if not bool(m[i].any())]
    return m.numpy(), empty


# ----------------------------------------------------------------------------------------------
# BERT's masked-language-model input corruption

@dataclass
class MlmToken:
    position: int
    original: str
    input: str
    action: str                 # "mask" | "random" | "keep" | "none" (not selected)
    label: str | None           # the prediction target (None: ignored by the loss, label −100)


def mlm_mask(tokens: list[str], seed: int, rate: float = 0.15, pool: tuple[str, ...] = RANDOM_POOL) -> list[MlmToken]:
    """BERT (Devlin et al. 2018, §3.1): select each token with probability `rate`; of the selected,
    80% become [MASK], 10% a random token, 10% stay unchanged; the loss is computed only at the
    selected positions. At least one token is selected (like one position per short sentence)."""
    rng = np.random.default_rng(seed)
    n = len(tokens)
    selected = rng.random(n) < rate
    if not selected.any():
        selected[int(rng.integers(n))] = True
    out = []
    choices = sorted(set(pool) | set(tokens))
    for i, tok in enumerate(tokens):
        if not selected[i]:
            out.append(MlmToken(i, tok, tok, "none", None))
            continue
        u = rng.random()
        if u < 0.8:
            out.append(MlmToken(i, tok, MASK_TOKEN, "mask", tok))
        elif u < 0.9:
            others = [c for c in choices if c != tok] or [MASK_TOKEN]
            out.append(MlmToken(i, tok, others[int(rng.integers(len(others)))], "random", tok))
        else:
            out.append(MlmToken(i, tok, tok, "keep", tok))
    return out


def mlm_rates(n_tokens: int = 100_000, seed: int = 0, rate: float = 0.15) -> dict[str, float]:
    """Empirical shares over many tokens (checks the 15% / 80-10-10 recipe)."""
    rng = np.random.default_rng(seed)
    sel = rng.random(n_tokens) < rate
    u = rng.random(int(sel.sum()))
    return {"selected": float(sel.mean()), "mask": float((u < 0.8).mean()),
            "random": float(((u >= 0.8) & (u < 0.9)).mean()), "keep": float((u >= 0.9).mean())}


# ----------------------------------------------------------------------------------------------
# No causal leak

@dataclass
class LeakResult:
    position: int
    original: str
    replacement: str
    delta: np.ndarray           # (T,) max_d |decoder_out − decoder_out'| per target position
    causal: bool

    @property
    def before(self) -> float:
        """Largest change at a position before the changed one (0 with a causal mask)."""
        return float(self.delta[:self.position].max()) if self.position > 0 else 0.0

    @property
    def after(self) -> float:
        """Largest change at the changed position or after it."""
        return float(self.delta[self.position:].max())


@torch.no_grad()
@one_thread()
def decoder_out(ids: torch.Tensor, causal: bool = True) -> torch.Tensor:
    """Decoder output (B, T, d) with src = tgt = ids; causal=False drops the causal mask (leaks)."""
    net = model()
    src_mask = net.make_src_mask(ids)
    memory = net.encode(ids, src_mask)
    tgt_mask = net.make_tgt_mask(ids) if causal else make_pad_mask(ids, 0)
    return net.decode(ids, memory, src_mask, tgt_mask)


@torch.no_grad()
@one_thread()
def leak(tokens: list[str], position: int, replacement: str, causal: bool = True) -> LeakResult:
    """Change the token at `position` of the target (the source stays the original sentence)."""
    if not 0 <= position < len(tokens):
        raise ValueError(f"position {position} outside 0..{len(tokens) - 1}")
    net = model()
    v = vocab()
    src = torch.tensor([[v.token_to_id(t) for t in tokens]])
    tgt2 = src.clone()
    tgt2[0, position] = v.token_to_id(replacement)
    src_mask = net.make_src_mask(src)
    memory = net.encode(src, src_mask)

    def dec(tgt: torch.Tensor) -> torch.Tensor:
        tgt_mask = net.make_tgt_mask(tgt) if causal else make_pad_mask(tgt, 0)
        return net.decode(tgt, memory, src_mask, tgt_mask)[0]

    delta = (dec(src) - dec(tgt2)).abs().amax(-1).numpy()
    return LeakResult(position, tokens[position], replacement, delta, causal)


def default_replacement(token: str) -> str:
    """A different token to put in place of `token`."""
    return "猫" if token != "猫" else "狗"
