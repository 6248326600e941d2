"""Step-by-step generation with a trained toy model: greedy steps, beam steps, teacher forcing.

Plain Python + torch (no Streamlit). Everything takes a loaded model and its vocabularies
(model.checkpoint.load_checkpoint) and token lists, and returns plain lists / numpy arrays.

  parse_input(text, task)           -> Parsed(tokens, unknown, error)   user text -> source tokens
  greedy_steps(model, sv, tv, src)  -> [GreedyStep]: per step the decoder input so far, the
                                       cross-attention over the source (every layer and head),
                                       the decoder self-attention, the causal mask, the top-k
                                       next-token distribution and the chosen token
  beam_steps(model, sv, tv, src, k) -> BeamResult: the alive beams after every step and the
                                       final ranked hypotheses; same algorithm and result as
                                       Transformer.beam_search(return_all=True)
  teacher_forcing(model, sv, tv, src, gold) -> TeacherForcing: ONE forward pass over the whole
                                       shifted gold target (causal mask) against one pass per
                                       prefix; per position predictions and the max |Δ logit|
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from model.data import TASKS, reference_translation, segment
from model.transformer import Transformer
from model.vocab import Vocab

__all__ = ["Parsed", "parse_input", "GreedyStep", "greedy_steps", "BeamResult", "beam_steps",
           "TeacherForcing", "teacher_forcing", "gold_target", "MAX_INPUT_CHARS", "cross_view", "unknown_targets"]

MAX_INPUT_CHARS = 200


@dataclass
class Parsed:
    tokens: list[str]
    unknown: list[str] = field(default_factory=list)
    error: str | None = None          # None | "empty" | "unknown" | "too_long"
    max_tokens: int = 0


def parse_input(text: str, task: str, max_tokens: int | None = None) -> Parsed:
    """Typed text -> the task's source tokens. Spaces are optional (longest match on the
    vocabulary: 我现在爱你 -> 我 现在 爱 你, 31415 -> 3 1 4 1 5)."""
    t = TASKS[task]
    limit = max_tokens or t.max_src_len
    text = (text or "")[:MAX_INPUT_CHARS].strip()
    if not text:
        return Parsed([], error="empty", max_tokens=limit)
    tokens, unknown = segment(text, t.src_tokens)
    if unknown:
        return Parsed(tokens, list(dict.fromkeys(unknown)), "unknown", limit)
    if len(tokens) > limit:
        return Parsed(tokens, error="too_long", max_tokens=limit)
    return Parsed(tokens, max_tokens=limit)


def gold_target(task: str, src_tokens: list[str]) -> list[str] | None:
    """The task's correct output for these source tokens (None when the grammar has none)."""
    if task == "copy":
        return list(src_tokens)
    if task == "reverse":
        return src_tokens[::-1]
    if task == "sort":
        return sorted(src_tokens)
    return reference_translation(src_tokens)


def _src_tensor(sv: Vocab, src_tokens: list[str]) -> torch.Tensor:
    return torch.tensor([[sv.token_to_id(t) for t in src_tokens]], dtype=torch.long)


@dataclass
class GreedyStep:
    step: int                        # 1-based
    dec_input: list[str]             # <bos> + tokens chosen so far (length step)
    cross: np.ndarray                # (layers, heads, step, S) cross-attention weights
    self_attn: np.ndarray            # (layers, heads, step, step) decoder self-attention weights
    causal: np.ndarray               # (step, step) bool, True = may attend
    top_tokens: list[str]            # top-k next tokens, most probable first
    top_probs: list[float]
    chosen: str                      # the arg-max (never <pad>/<bos>)
    chosen_prob: float


@torch.no_grad()
def greedy_steps(model: Transformer, sv: Vocab, tv: Vocab, src_tokens: list[str], max_len: int = 16,
                 top_k: int = 8) -> list[GreedyStep]:
    """Greedy decoding one step at a time, with a traced forward pass per step (the decoder
    input grows by the chosen token). Stops after <eos> or max_len steps."""
    model.eval()
    src = _src_tensor(sv, src_tokens)
    ids = [tv.bos_id]
    steps: list[GreedyStep] = []
    max_len = min(max_len, model.cfg.max_len - 1)
    for step in range(1, max_len + 1):
        tgt = torch.tensor([ids], dtype=torch.long)
        logits, tr = model(src, tgt, trace=True)
        last = logits[0, -1].clone()
        last[[model.cfg.pad_id, tv.bos_id]] = float("-inf")
        probs = torch.softmax(last, -1)
        k = min(top_k, int(torch.isfinite(last).sum()))
        top_p, top_i = probs.topk(k)
        nxt = int(last.argmax())
        cross = torch.stack([d.cross_attn.weights[0] for d in tr.decoder]).numpy()
        selfw = torch.stack([d.self_attn.weights[0] for d in tr.decoder]).numpy()
        causal = tr.tgt_mask[0, 0].numpy().astype(bool)
        steps.append(GreedyStep(step, [tv.id_to_token(i) for i in ids], cross, selfw, causal,
                                [tv.id_to_token(int(i)) for i in top_i], top_p.tolist(),
                                tv.id_to_token(nxt), float(probs[nxt])))
        ids.append(nxt)
        if nxt == tv.eos_id:
            break
    return steps


def cross_view(step: GreedyStep, layer: int, head: int | str) -> tuple[np.ndarray, int]:
    """One step's cross-attention at `layer`: head `head`'s (step, S) weights, or their mean over
    heads for head "mean"; and the source position the newest query weighs most."""
    w = step.cross[layer].mean(0) if head == "mean" else step.cross[layer, head]      # (step, S)
    return w, int(np.argmax(w[-1]))


def unknown_targets(tv: Vocab, tokens: list[str]) -> list[str]:
    """The typed target tokens that are not ordinary target words (unknown, or a special token)."""
    return [g for g in tokens if g not in tv.stoi or tv.stoi[g] < 4]


@dataclass
class BeamResult:
    steps: list[list[tuple[list[str], float]]]        # per step: alive beams (tokens, log-prob)
    finished: list[list[tuple[list[str], float]]]     # per step: hypotheses that ended at this step
    final: list[tuple[list[str], float]]              # ranked (tokens excl. <bos>, normalised score)
    final_ids: list[tuple[list[int], float]]


@torch.no_grad()
def beam_steps(model: Transformer, sv: Vocab, tv: Vocab, src_tokens: list[str], beam_size: int = 3,
               max_len: int = 16, length_penalty: float = 0.6) -> BeamResult:
    """Transformer.beam_search, step by step (same expansion, same stopping rule, same ranking)."""
    model.eval()
    src = _src_tensor(sv, src_tokens)
    bos, eos = tv.bos_id, tv.eos_id
    src_mask = model.make_src_mask(src)
    memory = model.encode(src, src_mask)

    def lp(L: int) -> float:
        return ((5.0 + L) / 6.0) ** length_penalty

    alive: list[tuple[list[int], float]] = [([bos], 0.0)]
    finished: list[tuple[list[int], float]] = []
    per_step, per_step_done = [], []
    max_len = min(max_len, model.cfg.max_len - 1)
    for _ in range(max_len):
        ys = torch.tensor([t for t, _ in alive], dtype=torch.long)
        k = ys.shape[0]
        logits = model.generator(model.decode(ys, memory.expand(k, -1, -1), src_mask, model.make_tgt_mask(ys))[:, -1])
        logits[:, [model.cfg.pad_id, bos]] = float("-inf")
        logp = torch.log_softmax(logits.float(), dim=-1)
        total = logp + torch.tensor([s for _, s in alive])[:, None]
        V = total.shape[1]
        top_v, top_i = total.view(-1).topk(min(2 * beam_size, k * V))
        new_alive, done_now = [], []
        for score, idx in zip(top_v.tolist(), top_i.tolist(), strict=True):
            b, tok = divmod(idx, V)
            seq = alive[b][0] + [tok]
            if tok == eos:
                finished.append((seq, score))
                done_now.append((seq, score))
            else:
                new_alive.append((seq, score))
            if len(new_alive) == beam_size:
                break
        alive = new_alive
        per_step.append([([tv.id_to_token(i) for i in s[1:]], sc) for s, sc in alive])
        per_step_done.append([([tv.id_to_token(i) for i in s[1:]], sc) for s, sc in done_now])
        if len(finished) >= beam_size or not alive:
            break
    pool = finished if len(finished) >= beam_size else finished + alive
    ranked = sorted(((s[1:], sc / lp(len(s) - 1)) for s, sc in pool), key=lambda x: -x[1])
    final = [([tv.id_to_token(i) for i in s], sc) for s, sc in ranked]
    return BeamResult(per_step, per_step_done, final, ranked)


@dataclass
class TeacherForcing:
    dec_input: list[str]             # <bos> + gold  (what the decoder sees, shifted right)
    labels: list[str]                # gold + <eos>  (what each position must predict)
    parallel_pred: list[str]         # arg-max of the ONE forward pass, per position
    stepwise_pred: list[str]         # arg-max of one forward pass per prefix
    parallel_p_label: list[float]    # p(label) per position, one pass
    stepwise_p_label: list[float]    # p(label) per position, step by step
    max_abs_logit_diff: float
    greedy_output: list[str]         # what free-running greedy decoding produces (for contrast)


@torch.no_grad()
def teacher_forcing(model: Transformer, sv: Vocab, tv: Vocab, src_tokens: list[str],
                    gold: list[str]) -> TeacherForcing:
    model.eval()
    src = _src_tensor(sv, src_tokens)
    gold_ids = [tv.token_to_id(t) for t in gold]
    tin = torch.tensor([[tv.bos_id] + gold_ids], dtype=torch.long)           # (1, T)
    labels = gold_ids + [tv.eos_id]
    par = model(src, tin)[0]                                                  # (T, V): all positions at once
    step_rows = [model(src, tin[:, : t + 1])[0, -1] for t in range(tin.shape[1])]
    seq = torch.stack(step_rows)                                              # (T, V): one pass per prefix
    p_par, p_seq = torch.softmax(par, -1), torch.softmax(seq, -1)
    idx = torch.arange(len(labels))
    lab = torch.tensor(labels)
    greedy = model.greedy_decode(src[0], tv.bos_id, tv.eos_id, max_len=model.cfg.max_len - 1)
    return TeacherForcing(
        dec_input=[tv.id_to_token(i) for i in tin[0].tolist()],
        labels=[tv.id_to_token(i) for i in labels],
        parallel_pred=[tv.id_to_token(int(i)) for i in par.argmax(-1)],
        stepwise_pred=[tv.id_to_token(int(i)) for i in seq.argmax(-1)],
        parallel_p_label=p_par[idx, lab].tolist(),
        stepwise_p_label=p_seq[idx, lab].tolist(),
        max_abs_logit_diff=float((par - seq).abs().max()),
        greedy_output=[tv.id_to_token(i) for i in greedy],
    )
