"""Attention demo: the numbers behind the page (plain torch / numpy, no Streamlit).

* a live model: the trained translation checkpoint when one exists (model.checkpoint), else a
  randomly initialised model with a HashVocab, so any typed sentence runs through it;
* the six steps of self-attention for one query token, recomputed by hand from the trace;
* why ÷√d_k: variance of q·k for random unit-variance vectors, softmax saturation and the size of
  the softmax Jacobian diag(p) − ppᵀ with and without the scale;
* why W_Q ≠ W_K: with one shared matrix the score matrix is symmetric and its diagonal dominates;
* multi-head: parameters and FLOPs (counted on the real modules) equal one big head's;
* the ÷√d_k switched off inside the live model (same weights, scale_attention=False).
"""
from __future__ import annotations

import functools
import math
import os
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import rjieba
import torch
from torch.utils.flop_counter import FlopCounterMode

from demos.background import start_once
from model import BOS, HashVocab, MultiHeadAttention, Transformer, TransformerConfig, Vocab
from model.checkpoint import CheckpointError, load_checkpoint
from model.data import segment
from model.vocab import tokenize

MAX_CHARS = 200          # longer input is cut (and the page says so)
MAX_TOKENS = 24          # heatmaps stay readable; longer sentences are cut to this many tokens
HASH_VOCAB_SIZE = 1000
DEFAULT_D_K = 16         # d_model = 4 heads × 16 = 64, our model's default
RANDOM_HEADS = 4
KINDS = ("enc_self", "dec_self", "cross")
D_K_OPTIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
MODEL_D_K_OPTIONS = (4, 8, 16, 32, 64, 128)


class InputError(ValueError):
    """Typed text the demo cannot use; `code` names the message (i18n key suffix)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# ----------------------------------------------------------------------------------------------
# The live model

@dataclass
class LiveModel:
    """A model ready for the page: the net (eval mode), its vocabularies, and what it is."""
    net: Transformer
    src_vocab: Vocab
    tgt_vocab: Vocab
    trained: bool
    name: str                          # "translate" or "random"
    segment_words: tuple[str, ...] = ()   # known source words (trained model: longest-match segmentation)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self) -> TransformerConfig:
        return self.net.cfg


def random_model(d_k: int = DEFAULT_D_K, n_heads: int = RANDOM_HEADS, seed: int = 0) -> LiveModel:
    """A randomly initialised model (d_model = n_heads·d_k, 2+2 layers) over a HashVocab."""
    cfg = TransformerConfig(src_vocab_size=HASH_VOCAB_SIZE, tgt_vocab_size=HASH_VOCAB_SIZE,
                            d_model=n_heads * d_k, n_heads=n_heads, d_ff=4 * n_heads * d_k,
                            dropout=0.0, seed=seed)
    net = Transformer(cfg).eval()
    vocab = HashVocab(HASH_VOCAB_SIZE)
    return LiveModel(net, vocab, vocab, trained=False, name="random")


def trained_model(path: str | None = None) -> LiveModel | None:
    """The trained translation model (我 现在 爱 你 → I love you now), or None when no checkpoint
    (model/checkpoints/translate.pt, or `path`, or $TIL_TRANSLATE_CHECKPOINT) can be loaded."""
    path = path or os.environ.get("TIL_TRANSLATE_CHECKPOINT") or None
    try:
        net, (src_vocab, tgt_vocab), meta = load_checkpoint("translate", path, cached=False)
    except CheckpointError:
        return None
    net.eval()
    words = tuple(t for t in src_vocab.tokens if not t.startswith("<"))
    return LiveModel(net, src_vocab, tgt_vocab, trained=True, name="translate", segment_words=words,
                     info=dict(meta))


def unscaled_twin(lm: LiveModel) -> LiveModel:
    """The same weights with ÷√d_k switched off inside every attention (scale_attention=False).
    The twin shares the parameter tensors with `lm` (assign=True): no copy (up to ~65 MB)."""
    net = Transformer(replace(lm.cfg, scale_attention=False))
    net.load_state_dict(lm.net.state_dict(), assign=True)
    net.eval()
    return replace(lm, net=net)


# ----------------------------------------------------------------------------------------------
# Typed text -> tokens

@dataclass
class Tokens:
    tokens: list[str]
    notes: list[str]           # i18n key suffixes of warnings: "cut_chars", "cut_tokens", "unknown"
    unknown: list[str] = field(default_factory=list)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def segment_zh(text: str, words: tuple[str, ...]) -> list[str]:
    """Chinese text -> the model's words where it knows them, real words elsewhere: a word
    segmenter (jieba) cuts each chunk; a segment the vocabulary knows, or that splits wholly
    into known words (digits typed as 31415), is used as such; any other segment stays whole
    (学习 stays 学习, never 学 + 习…)."""
    out: list[str] = []
    for chunk in text.split():
        if not _CJK.search(chunk):  # Latin text, markup, numbers: the model's own longest match
            out.extend(segment(chunk, words)[0])
            continue
        for piece in rjieba.cut(chunk):
            if not piece.strip():
                continue
            known, unknown = segment(piece, words)
            out.extend([piece] if unknown and len(known) > 1 else known)
    return out


def split_text(text: str | None, lm: LiveModel, *, side: str = "src") -> Tokens:
    """Typed text -> tokens for `lm`; InputError("empty") for nothing usable. Long input is cut
    (to MAX_CHARS characters, then to what the model's positions allow, at most MAX_TOKENS)."""
    notes: list[str] = []
    text = (text or "").replace("\x00", "")
    if len(text) > MAX_CHARS:
        text, notes = text[:MAX_CHARS], ["cut_chars"]
    if not text.strip():
        raise InputError("empty")
    vocab = lm.src_vocab if side == "src" else lm.tgt_vocab
    unknown: list[str] = []
    if lm.trained:
        if side == "src":
            toks = segment_zh(text, lm.segment_words)
        else:   # English words, matched case-insensitively ("i" -> "I")
            lower = {t.lower(): t for t in vocab.tokens if not t.startswith("<")}
            toks = [lower.get(w.lower(), w) for w in text.split()]
        unknown = [t for t in toks if t not in vocab]
    else:
        toks = tokenize(text)
    if not toks:
        raise InputError("empty")
    limit = max_tokens(lm, side)
    if len(toks) > limit:
        toks, notes = toks[:limit], notes + ["cut_tokens"]
    if unknown:
        notes.append("unknown")
    return Tokens(toks, notes, list(dict.fromkeys(unknown)))


def max_tokens(lm: LiveModel, side: str = "src") -> int:
    """How many typed tokens fit: the model's positions (the decoder also needs <bos>), ≤ MAX_TOKENS."""
    room = lm.cfg.max_len - (1 if side == "tgt" else 0)
    return min(MAX_TOKENS, room)


# ----------------------------------------------------------------------------------------------
# One traced forward pass

@dataclass
class Run:
    src_tokens: list[str]            # row / column labels of the encoder side
    tgt_tokens: list[str]            # decoder inputs: <bos> + target (no <eos>)
    predicted: list[str]             # the model's arg-max next token at each decoder position
    output: list[str]                # the decoder side shown: greedy output or the typed target
    typed_target: bool
    trace: Any                       # model.Trace

    def attn(self, kind: str, layer: int):
        """AttnTrace of `kind` ("enc_self" | "dec_self" | "cross") in `layer`."""
        if kind == "enc_self":
            return self.trace.encoder[layer].self_attn
        if kind == "dec_self":
            return self.trace.decoder[layer].self_attn
        if kind == "cross":
            return self.trace.decoder[layer].cross_attn
        raise ValueError(kind)

    def labels(self, kind: str) -> tuple[list[str], list[str]]:
        """(query labels, key labels) of an attention kind."""
        if kind == "enc_self":
            return self.src_tokens, self.src_tokens
        if kind == "dec_self":
            return self.tgt_tokens, self.tgt_tokens
        return self.tgt_tokens, self.src_tokens


def _src_ids(lm: LiveModel, toks: list[str]) -> torch.Tensor:
    ids = [lm.src_vocab.token_to_id(t) for t in toks]
    return torch.tensor([ids], dtype=torch.long)


def greedy_output(lm: LiveModel, src_toks: list[str], max_len: int | None = None) -> list[str]:
    """The model's own greedy translation (tokens, without <eos>)."""
    src = _src_ids(lm, src_toks)
    with torch.inference_mode():
        ids = lm.net.greedy_decode(src[0], lm.tgt_vocab.bos_id, lm.tgt_vocab.eos_id,
                                   max_len=max_len or max_tokens(lm, "tgt"))
    if ids and ids[-1] == lm.tgt_vocab.eos_id:
        ids = ids[:-1]
    return [lm.tgt_vocab.id_to_token(i) for i in ids]


def run(lm: LiveModel, src_toks: list[str], tgt_toks: list[str] | None = None,
        decoder_net: LiveModel | None = None) -> Run:
    """Traced forward pass. The decoder input is <bos> + tgt_toks (typed target), or <bos> + the
    model's greedy output (trained model), or <bos> + the source tokens (random model: no
    translation to show, the decoder reads the same sentence). `decoder_net`: run this model
    instead, with the decoder side chosen by `lm` (for comparing twins on the same tokens)."""
    typed = tgt_toks is not None
    if tgt_toks is None:
        tgt_toks = greedy_output(lm, src_toks) if lm.trained else list(src_toks)
    net_lm = decoder_net or lm
    src = _src_ids(net_lm, src_toks)
    tgt_ids = [net_lm.tgt_vocab.bos_id] + [net_lm.tgt_vocab.token_to_id(t) for t in tgt_toks]
    tgt = torch.tensor([tgt_ids], dtype=torch.long)
    with torch.inference_mode():
        logits, tr = net_lm.net(src, tgt, trace=True)
    pred_ids = logits[0].argmax(-1).tolist()
    predicted = [net_lm.tgt_vocab.id_to_token(i) for i in pred_ids]
    return Run(list(src_toks), [BOS, *tgt_toks], predicted, list(tgt_toks), typed, tr)


def head_weights(run_: Run, kind: str, layer: int, head: int) -> np.ndarray:
    """(Tq, Tk) attention weights of one head of `kind` in `layer`."""
    return run_.attn(kind, layer).weights[0, head].numpy()


def all_weights(run_: Run, kind: str) -> np.ndarray:
    """(layers, heads, Tq, Tk) attention weights of every layer and head of `kind`."""
    n_layers = len(run_.trace.encoder if kind == "enc_self" else run_.trace.decoder)
    return np.stack([run_.attn(kind, i).weights[0].numpy() for i in range(n_layers)])


def saturated_share(run_: Run, kind: str, threshold: float = 0.9) -> float:
    """Share of query rows (every layer and head of `kind`) whose largest weight exceeds `threshold`."""
    return float((all_weights(run_, kind).max(-1) > threshold).mean())


# ----------------------------------------------------------------------------------------------
# Row statistics of attention weights and of the softmax Jacobian

def row_entropy(w: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each row of weights (…, Tk); 0·log 0 = 0."""
    w = np.asarray(w, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, -w * np.log(w), 0.0)
    return terms.sum(-1)


def jacobian_norm(p: np.ndarray) -> np.ndarray:
    """Frobenius norm of the softmax Jacobian J = diag(p) − ppᵀ for each row p (…, n).
    ‖J‖²_F = Σ p_i² − 2 Σ p_i³ + (Σ p_i²)²; it goes to 0 as p becomes one-hot (saturation)."""
    p = np.asarray(p, dtype=np.float64)
    s2 = (p ** 2).sum(-1)
    s3 = (p ** 3).sum(-1)
    return np.sqrt(np.maximum(s2 - 2 * s3 + s2 ** 2, 0.0))


def jacobian(p: np.ndarray) -> np.ndarray:
    """The softmax Jacobian diag(p) − ppᵀ of one row p (n,) -> (n, n)."""
    p = np.asarray(p, dtype=np.float64)
    return np.diag(p) - np.outer(p, p)


def mean_distance(w: np.ndarray) -> np.ndarray:
    """Mean attention distance Σ_j w_ij |i − j| of each row (…, Tq, Tk), in positions."""
    w = np.asarray(w, dtype=np.float64)
    tq, tk = w.shape[-2:]
    dist = np.abs(np.arange(tq)[:, None] - np.arange(tk)[None, :])
    return (w * dist).sum(-1)


def _valid_rows(mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    """bool (…, Tq): rows that have at least one key to attend."""
    if mask is None:
        return np.ones(shape[:-1], dtype=bool)
    m = np.broadcast_to(np.asarray(mask), shape)
    return m.any(-1)


def _row_mean(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean over the query rows (last axis) that have keys to attend."""
    return np.where(valid, x, 0).sum(-1) / np.maximum(valid.sum(-1), 1)


def head_stats(run_: Run, kind: str) -> dict[str, np.ndarray]:
    """Per (layer, head): mean max weight, mean entropy, mean Jacobian norm, mean distance."""
    n_layers = len(run_.trace.encoder if kind == "enc_self" else run_.trace.decoder)
    out: dict[str, list] = {"max_weight": [], "entropy": [], "jacobian": [], "distance": []}
    for layer in range(n_layers):
        a = run_.attn(kind, layer)
        w = a.weights[0].double().numpy()                        # (h, Tq, Tk)
        valid = _valid_rows(None if a.mask is None else a.mask[0].numpy(), w.shape)
        out["max_weight"].append(_row_mean(w.max(-1), valid))
        out["entropy"].append(_row_mean(row_entropy(w), valid))
        out["jacobian"].append(_row_mean(jacobian_norm(w), valid))
        out["distance"].append(_row_mean(mean_distance(w), valid))
    return {k: np.array(v) for k, v in out.items()}      # each (layers, heads)


# ----------------------------------------------------------------------------------------------
# The six steps for one query token (note 001)

def six_steps(a: Any, head: int, query: int, module: MultiHeadAttention | None = None,
              x_query: torch.Tensor | None = None, x_keys: torch.Tensor | None = None,
              scale: bool = True) -> dict[str, np.ndarray]:
    """Recompute attention by hand for query position `query` of `head`, from the trace's q, k, v.

    1 q, k, v (when `module` and the layer inputs are given: recomputed as x·W + b and checked)
    2 scores_j = q·k_j   3 scaled_j = scores_j / √d_k   4 weights = softmax(scaled, masked keys −inf)
    5 weighted_j = weights_j · v_j   6 context = Σ_j weighted_j
    float64 throughout; compare with a.weights / a.context (float32) to about 1e-6."""
    q = a.q[0, head, query].double()                  # (d_k,)
    k = a.k[0, head].double()                         # (Tk, d_k)
    v = a.v[0, head].double()                         # (Tk, d_k)
    d_k = q.shape[-1]
    out: dict[str, np.ndarray] = {"q": q.numpy(), "k": k.numpy(), "v": v.numpy()}
    if module is not None and x_query is not None and x_keys is not None:
        sl = slice(head * d_k, (head + 1) * d_k)
        wq, bq = module.W_q.weight[sl].double(), module.W_q.bias[sl].double()
        wk, bk = module.W_k.weight[sl].double(), module.W_k.bias[sl].double()
        wv, bv = module.W_v.weight[sl].double(), module.W_v.bias[sl].double()
        with torch.no_grad():
            out["q_by_hand"] = (x_query.double() @ wq.T + bq).numpy()
            out["k_by_hand"] = (x_keys.double() @ wk.T + bk).numpy()
            out["v_by_hand"] = (x_keys.double() @ wv.T + bv).numpy()
    scores = k @ q                                    # (Tk,)
    scaled = scores / math.sqrt(d_k) if scale else scores
    if a.mask is not None:
        allowed = torch.broadcast_to(a.mask[0], a.weights.shape[1:])[head, query]
    else:
        allowed = torch.ones_like(scores, dtype=torch.bool)
    masked = torch.where(allowed, scaled, float("-inf"))
    weights = torch.softmax(masked, -1) if bool(allowed.any()) else torch.zeros_like(masked)
    weighted = weights[:, None] * v                   # (Tk, d_k)
    context = weighted.sum(0)                         # (d_k,)
    out.update(scores=scores.numpy(), scaled=scaled.numpy(), allowed=allowed.numpy(),
               weights=weights.numpy(), weighted=weighted.numpy(), context=context.numpy(),
               sqrt_d_k=np.float64(math.sqrt(d_k)))
    return out


def qkv_rows(steps: dict[str, np.ndarray]) -> np.ndarray:
    """The query, every key and every value of a `six_steps` result as rows: (1 + 2·Tk, d_k)."""
    return np.vstack([steps["q"][None], steps["k"], steps["v"]])


def by_hand_error(steps: dict[str, np.ndarray]) -> float:
    """Largest |x·W + b − traced| over q, k and v of a `six_steps` result given the module."""
    return max(float(np.abs(steps[f"{n}_by_hand"] - steps[n]).max()) for n in ("q", "k", "v"))


def steps_table(steps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, scaled scores (NaN where the key is masked) and weights, rounded to 4 decimals."""
    return (np.round(steps["scores"], 4), np.where(steps["allowed"], np.round(steps["scaled"], 4), np.nan),
            np.round(steps["weights"], 4))


def trace_error(steps: dict[str, np.ndarray], a: Any, head: int, query: int) -> tuple[float, float]:
    """(max |weights by hand − traced|, max |context by hand − traced|) for one query of one head."""
    ew = float(np.abs(steps["weights"] - a.weights[0, head, query].double().numpy()).max())
    ec = float(np.abs(steps["context"] - a.context[0, head, query].double().numpy()).max())
    return ew, ec


def layer_inputs(run_: Run, lm: LiveModel, kind: str, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(query-side input (Tq, d), key-side input (Tk, d)) that the attention's W_q / W_k saw."""
    tr = run_.trace
    if kind == "enc_self":
        s = tr.encoder[layer].sublayers[0]
        x = s.normed_in if s.normed_in is not None else s.x_in
        return x[0], x[0]
    s = tr.decoder[layer].sublayers[0 if kind == "dec_self" else 1]
    x = s.normed_in if s.normed_in is not None else s.x_in
    if kind == "dec_self":
        return x[0], x[0]
    return x[0], tr.memory[0]


def attn_module(lm: LiveModel, kind: str, layer: int) -> MultiHeadAttention:
    if kind == "enc_self":
        return lm.net.encoder.layers[layer].self_attn
    if kind == "dec_self":
        return lm.net.decoder.layers[layer].self_attn
    return lm.net.decoder.layers[layer].cross_attn


# ----------------------------------------------------------------------------------------------
# Why ÷√d_k: random unit-variance q, k

def qk_samples(d_k: int, n: int = 10000, seed: int = 0) -> np.ndarray:
    """n dot products q·k with q, k ~ N(0, I_{d_k}) (float64, fixed seed, built in chunks)."""
    rng = np.random.default_rng(seed + 7919 * d_k)
    out = np.empty(n)
    chunk = max(1, 2_000_000 // max(d_k, 1))
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        q = rng.standard_normal((m, d_k))
        k = rng.standard_normal((m, d_k))
        out[i:i + m] = np.einsum("nd,nd->n", q, k)
    return out


def qk_variance(d_k: int, n: int = 10000, seed: int = 0, bins: int = 60) -> dict:
    """Measured Var(q·k) (theory: d_k) and Var(q·k / √d_k) (theory: 1), and histograms of both
    over common bins (centers, raw counts, scaled counts) from the same samples."""
    s = qk_samples(d_k, n, seed)
    scaled = s / math.sqrt(d_k)
    lim = float(np.quantile(np.abs(np.concatenate([s, scaled])), 0.999)) or 1.0
    edges = np.linspace(-lim, lim, bins + 1)
    return {"d_k": d_k, "var": float(s.var()), "var_scaled": float(scaled.var()), "theory": float(d_k),
            "hist_centers": (edges[:-1] + edges[1:]) / 2, "hist_raw": np.histogram(s, edges)[0],
            "hist_scaled": np.histogram(scaled, edges)[0]}


def softmax_stats(d_k: int, n_keys: int = 16, trials: int = 400, seed: int = 0) -> dict[str, float]:
    """For `trials` random queries against n_keys random keys (unit-variance entries): mean largest
    softmax weight, mean entropy (nats; uniform = ln n_keys) and mean ‖diag(p) − ppᵀ‖_F, with
    the scores q·k raw and ÷√d_k."""
    rng = np.random.default_rng(seed + 104729 * d_k)
    q = rng.standard_normal((trials, 1, d_k))
    k = rng.standard_normal((trials, n_keys, d_k))
    s = (q * k).sum(-1)                                  # (trials, n_keys)
    out: dict[str, float] = {"d_k": d_k}
    for name, z in (("raw", s), ("scaled", s / math.sqrt(d_k))):
        z = z - z.max(-1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(-1, keepdims=True)
        out[f"max_{name}"] = float(p.max(-1).mean())
        out[f"entropy_{name}"] = float(row_entropy(p).mean())
        out[f"jacobian_{name}"] = float(jacobian_norm(p).mean())
    return out


def example_softmax(d_k: int, n_keys: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """One query against n_keys keys: the raw and scaled scores and their softmax weights."""
    rng = np.random.default_rng(seed + 31 * d_k)
    q = rng.standard_normal(d_k)
    k = rng.standard_normal((n_keys, d_k))
    s = k @ q
    out = {"raw": s, "scaled": s / math.sqrt(d_k)}
    for name in ("raw", "scaled"):
        z = out[name] - out[name].max()
        p = np.exp(z)
        out[f"p_{name}"] = p / p.sum()
    return out


@functools.lru_cache(maxsize=4)
def scaling_table(d_ks: tuple[int, ...] = D_K_OPTIONS, n: int = 10000, seed: int = 0) -> list[dict]:
    """One row per d_k: variance (raw, scaled, theory) and softmax statistics. Cached (~1 s to
    compute; the rows are shared: do not modify them)."""
    return [{**qk_variance(d, n, seed), **softmax_stats(d, seed=seed)} for d in d_ks]


# ----------------------------------------------------------------------------------------------
# Why W_Q ≠ W_K

def score_matrix(xq: torch.Tensor, xk: torch.Tensor, wq: torch.Tensor, bq: torch.Tensor,
                 wk: torch.Tensor, bk: torch.Tensor, scale: bool = True) -> np.ndarray:
    """(x_q W_qᵀ + b_q)(x_k W_kᵀ + b_k)ᵀ / √d_k in float64 -> (Tq, Tk)."""
    q = xq.double() @ wq.double().T + bq.double()
    k = xk.double() @ wk.double().T + bk.double()
    s = q @ k.T
    if scale:
        s = s / math.sqrt(q.shape[-1])
    return s.numpy()


def symmetry_error(s: np.ndarray) -> float:
    """max |S − Sᵀ| (0 for a symmetric matrix)."""
    return float(np.abs(s - s.T).max())


def diagonal_share(s: np.ndarray) -> float:
    """Share of rows whose largest score is on the diagonal (each token attends most to itself)."""
    return float((s.argmax(-1) == np.arange(s.shape[0])).mean())


def softmax_rows(s: np.ndarray) -> np.ndarray:
    z = s - s.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


def wq_wk_compare(x: torch.Tensor, module: MultiHeadAttention, head: int) -> dict[str, Any]:
    """Encoder self-attention scores of one head on inputs x (T, d): with the model's own W_Q, W_K
    and with W_K := W_Q (shared, biases too). Symmetry error and diagonal share of each."""
    d_k = module.d_k
    sl = slice(head * d_k, (head + 1) * d_k)
    with torch.no_grad():
        wq, bq = module.W_q.weight[sl], module.W_q.bias[sl]
        wk, bk = module.W_k.weight[sl], module.W_k.bias[sl]
        own = score_matrix(x, x, wq, bq, wk, bk)
        shared = score_matrix(x, x, wq, bq, wq, bq)
    out: dict[str, Any] = {}
    for name, s in (("own", own), ("shared", shared)):
        w = softmax_rows(s)
        out[name] = {"scores": s, "weights": w, "symmetry_error": symmetry_error(s),
                     "diagonal_share": diagonal_share(s),
                     "diagonal_weight": float(np.diag(w).mean())}
    return out


# ----------------------------------------------------------------------------------------------
# Multi-head: parameters and FLOPs from the real modules

def count_params(module: torch.nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def count_flops(module: MultiHeadAttention, T: int, seed: int = 0) -> int:
    """Matrix-multiplication FLOPs of one forward pass on (1, T, d) inputs, counted by
    torch.utils.flop_counter.FlopCounterMode on the real module."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, T, module.d_model, generator=g)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(x, x, x)
    return int(counter.get_total_flops())


def flops_formula(d_model: int, T: int) -> int:
    """2·(4·T·d²) for the four projections + 2·T²·d for q·kᵀ + 2·T²·d for weights·v (any h)."""
    return 8 * T * d_model ** 2 + 4 * T * T * d_model


@functools.lru_cache(maxsize=32)
def multihead_table(d_model: int, T: int, heads: tuple[int, ...] | None = None) -> list[dict]:
    """For each head count h dividing d_model: d_k, parameters and FLOPs of a real
    MultiHeadAttention(d_model, h), and the closed-form FLOPs. Cached (rows shared: read only)."""
    if heads is None:
        heads = tuple(h for h in (1, 2, 4, 8, 16) if d_model % h == 0)
    rows = []
    for h in heads:
        torch.manual_seed(0)
        m = MultiHeadAttention(d_model, h).eval()
        rows.append({"heads": h, "d_k": d_model // h, "params": count_params(m),
                     "flops": count_flops(m, T), "formula": flops_formula(d_model, T),
                     "per_head_params": 3 * (d_model * (d_model // h) + d_model // h)})
    return rows


# ----------------------------------------------------------------------------------------------
# Warm-up: the two tables above cost ~1 s each the first time in a process (FLOP counter set-up,
# 10,000-sample histograms); a page computes them in the background at its first visit.

def table_d_models(trained: LiveModel | None) -> tuple[int, ...]:
    """The d_model of every random model the page offers and of the trained one: the multi-head
    table is shown for each."""
    return tuple(sorted({RANDOM_HEADS * d for d in MODEL_D_K_OPTIONS} | ({trained.cfg.d_model} if trained else set())))


def warm_up(d_models: tuple[int, ...], T: int, n: int) -> threading.Thread | None:
    """Once per process: compute scaling_table(D_K_OPTIONS, n) and multihead_table(d, T) for each
    d in `d_models` in a background thread. Returns the thread while it runs (a caller that needs
    the tables joins it), None once it has finished."""
    def work() -> None:
        scaling_table(D_K_OPTIONS, n)
        for d in d_models:
            multihead_table(d, T)

    return start_once("attention-warm-up", work)
