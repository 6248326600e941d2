"""The checks of every drill: the inputs of each value case, our implementation that gives the
expected output (model/transformer.py, model/decoder.py, torch), and the extra checks
(properties, gradients, our model with the learner's piece plugged in). Used by drills/grade.py.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from drills import inmodel, registry
from drills.checks import B, Case, Ctx, LearnerError, Spec, explain_exception
from model import decoder as dec
from model.transformer import (
    MultiHeadAttention,
    make_causal_mask,
    make_pad_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)

__all__ = ["SPECS"]


def rnd(*shape: int, seed: int, dtype=torch.float32, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(tuple(shape), generator=g, dtype=torch.float64) * scale).to(dtype)


def noncontig(*shape: int, seed: int) -> torch.Tensor:
    """A tensor of `shape` whose last two axes are a transposed view (not contiguous)."""
    t = rnd(*shape[:-2], shape[-1], shape[-2], seed=seed).transpose(-2, -1)
    assert not t.is_contiguous()
    return t


def lengths_mask(lengths: list[int], T: int) -> torch.Tensor:
    tokens = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).long()
    return make_pad_mask(tokens, 0)                                     # (B, 1, 1, T)


@functools.cache
def _ref_entry(drill_id: str) -> Any:
    """Our reference solution's function (drills/refs), for drills no model module implements."""
    d = registry.get(drill_id)
    ns: dict[str, Any] = {"__name__": f"drills.refs.{drill_id}"}
    exec(compile(d.reference, f"refs/{drill_id}.py", "exec"), ns)  # noqa: S102 - our own file
    return ns[d.entry]


def check(name_en: str, name_zh: str) -> Callable:
    """Decorator: an extra check with this name (LearnerError inside -> a failed check of that name)."""
    def wrap(fn):
        fn.check_name = B(name_en, name_zh)
        return fn
    return wrap


def _grads(fn: Callable, inputs: list[torch.Tensor], weights: list[torch.Tensor]) -> list[torch.Tensor] | str:
    """d(sum_i <out_i, w_i>)/d inputs; a string when no gradient reaches the inputs."""
    xs = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    outs = [out] if isinstance(out, torch.Tensor) else [o for o in out if isinstance(o, torch.Tensor)]
    total = None
    for o, w in zip(outs, weights, strict=False):
        if not o.requires_grad:
            return "detached"
        term = (torch.nan_to_num(o.to(torch.float64)) * w.reshape(o.shape) if w.numel() == o.numel()
                else torch.nan_to_num(o.to(torch.float64)).sum())
        total = term.sum() if total is None else total + term.sum()
    if total is None:
        return "detached"
    gs = torch.autograd.grad(total, xs, allow_unused=True)
    if any(g is None for g in gs):
        return "unused"
    return list(gs)


def gradient_check(ctx: Ctx, make: Callable[[], list[torch.Tensor]], learner: Callable, ours: Callable,
                   names: str) -> None:
    """Gradients flow through the learner's code and equal ours (float64)."""
    name = B("gradients flow and match ours", "梯度能回传且与我们的一致")
    inputs = [x.to(torch.float64) for x in make()]
    ref_out = ours(*inputs)
    ref_outs = [ref_out] if isinstance(ref_out, torch.Tensor) else list(ref_out)
    weights = [rnd(*o.shape, seed=99 + i, dtype=torch.float64) for i, o in enumerate(ref_outs)]
    expected = _grads(ours, inputs, weights)
    try:
        got = _grads(learner, inputs, weights)
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise LearnerError(explain_exception(exc, ctx.source)) from None
    if isinstance(got, str):
        ctx.add(name, False, B(f"no gradient reaches {names}: did you use .detach(), .item(), .numpy(), "
                               "torch.no_grad() or build a new tensor from Python numbers?",
                               f"梯度传不到 {names}：是否用了 .detach()、.item()、.numpy()、torch.no_grad()，"
                               "或用 Python 数字新建了张量？"))
        return
    for g, e in zip(got, expected, strict=True):
        if not torch.allclose(torch.nan_to_num(g), torch.nan_to_num(e), atol=1e-6, rtol=1e-5):
            diff = (torch.nan_to_num(g) - torch.nan_to_num(e)).abs().max().item()
            ctx.add(name, False, B(f"the gradients with respect to {names} differ from ours (max |Δ| = {diff:.3g})",
                                   f"对 {names} 的梯度与我们的不同（max |Δ| = {diff:.3g}）"))
            return
    ctx.add(name, True, B(f"d(loss)/d({names}) equal ours (float64)", f"d(loss)/d({names}) 与我们的一致（float64）"))


def _in_model_result(ctx: Ctx, what: dict[str, str], run: Callable[[str], list[str]]) -> None:
    """Translate SENTENCES with our model and with the learner's piece plugged in; compare."""
    name = B("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
    model, sv, tv = inmodel.translation_model()
    rows = []
    for text in inmodel.SENTENCES:
        ours = " ".join(inmodel.our_translation(text))
        try:
            with torch.no_grad():
                yours = " ".join(run(text))
        except LearnerError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise LearnerError(explain_exception(exc, ctx.source)) from None
        rows.append((text, ours, yours))
    ctx.figures["translations"] = [{"src": s, "ours": o, "yours": y} for s, o, y in rows]
    bad = [(s, o, y) for s, o, y in rows if o != y]
    if not bad:
        s, o, _ = rows[0]
        ctx.add(name, True, B(f"with your {what['en']} the model still translates {s} → {o} "
                              f"({len(rows)} of {len(rows)} sentences as ours)",
                              f"用你的{what['zh']}，模型仍把 {s} 翻译成 {o}（{len(rows)} 句都与我们的相同）"))
    else:
        s, o, y = bad[0]
        ctx.add(name, False, B(f"with your {what['en']} the model translates {s} → “{y}” instead of “{o}” "
                               f"({len(rows) - len(bad)} of {len(rows)} sentences as ours)",
                               f"用你的{what['zh']}，模型把 {s} 翻译成 “{y}” 而不是 “{o}”"
                               f"（{len(rows)} 句中 {len(rows) - len(bad)} 句与我们的相同）"))


def _run_learner(ctx: Ctx, fn: Callable, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except LearnerError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise LearnerError(explain_exception(exc, ctx.source)) from None


def _matrix(t: torch.Tensor, digits: int = 4) -> list[list[float]]:
    return [[round(float(v), digits) for v in row] for row in t.detach().to(torch.float64).nan_to_num(0.0).tolist()]


# ----------------------------------------------------------------------------------------------
# sdpa

def _sdpa_expected(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, mask)


def _sdpa_axes(q, k, v, mask=None):
    return ["output (B, h, Tq, d)", "weights (B, h, Tq, Tk)"]


def _qkv(B_, h, Tq, Tk, d, seed, dtype=torch.float32):
    return rnd(B_, h, Tq, d, seed=seed, dtype=dtype), rnd(B_, h, Tk, d, seed=seed + 1, dtype=dtype), \
        rnd(B_, h, Tk, d, seed=seed + 2, dtype=dtype)


def _full_masked_rows(B_, Tq, Tk) -> torch.Tensor:
    m = torch.ones(B_, 1, Tq, Tk, dtype=torch.bool).tril(diagonal=Tk - Tq)
    m[0, 0, 1, :] = False                         # batch 0: query 1 sees nothing
    m[-1, 0, -1, :] = False                       # last batch: the last query sees nothing
    return m


SDPA_CASES = [
    Case(B("values: random q, k, v, no mask (B=2, h=3, T=4, d=8)", "数值：随机 q、k、v，无 mask（B=2, h=3, T=4, d=8）"),
         lambda: (_qkv(2, 3, 4, 4, 8, 1), {}), shapes=True),
    Case(B("with a causal mask (T=5)", "带因果 mask（T=5）"),
         lambda: ((*_qkv(2, 2, 5, 5, 8, 11), make_causal_mask(5)), {})),
    Case(B("Tq ≠ Tk with a padding mask (Tq=3, Tk=6)", "Tq ≠ Tk，带 padding mask（Tq=3, Tk=6）"),
         lambda: ((*_qkv(2, 2, 3, 6, 8, 21), lengths_mask([6, 2], 6)), {})),
    Case(B("edge case: T = 1", "边界：T = 1"), lambda: (_qkv(3, 2, 1, 1, 4, 31), {})),
    Case(B("fully masked rows give zero weights and zero output, never NaN", "全遮住的行：权重和输出都为 0，不是 NaN"),
         lambda: ((*_qkv(2, 2, 4, 5, 8, 41), _full_masked_rows(2, 4, 5)), {})),
    Case(B("float64 inputs, d = 64", "float64 输入，d = 64"),
         lambda: (_qkv(2, 2, 5, 5, 64, 51, torch.float64), {})),
    Case(B("non-contiguous inputs", "非连续（non-contiguous）输入"),
         lambda: ((noncontig(2, 2, 4, 8, seed=61), noncontig(2, 2, 6, 8, seed=62), noncontig(2, 2, 6, 8, seed=63)), {})),
]


@check("property: each row of weights sums to 1", "性质：权重每行之和为 1")
def sdpa_rows(ctx: Ctx) -> None:
    q, k, v = _qkv(2, 3, 5, 5, 8, 71)
    mask = make_causal_mask(5)
    out = ctx.run((q, k, v, mask), {})
    w = out[1] if isinstance(out, (tuple, list)) and len(out) > 1 else None
    name = sdpa_rows.check_name
    if not isinstance(w, torch.Tensor) or w.shape != (2, 3, 5, 5):
        ctx.add(name, False, B("return (output, weights) with weights (B, h, Tq, Tk)", "请返回 (output, weights)，weights 为 (B, h, Tq, Tk)"))
        return
    rows = w.detach().double().sum(-1)
    cols = w.detach().double().sum(-2)
    if torch.allclose(rows, torch.ones_like(rows), atol=1e-4):
        ctx.add(name, True, B("every query's weights over the keys sum to 1", "每个 query 对所有 key 的权重之和为 1"))
    elif torch.allclose(cols, torch.ones_like(cols), atol=1e-4):
        ctx.fail_with(name, B("columns sum to 1, rows do not", "列之和为 1，行之和不是"), "softmax_wrong_axis")
    else:
        i = int((rows - 1).abs().flatten().argmax())
        ctx.add(name, False, B(f"a row sums to {rows.flatten()[i].item():.4g}, not 1", f"有一行之和为 {rows.flatten()[i].item():.4g}，不是 1"))


@check("property: causality (a future key changes no earlier output)", "性质：因果性（改变未来的 key 不影响之前的输出）")
def sdpa_causal(ctx: Ctx) -> None:
    q, k, v = _qkv(1, 2, 6, 6, 8, 81)
    mask = make_causal_mask(6)
    a = ctx.run((q, k, v, mask), {})
    k2, v2 = k.clone(), v.clone()
    k2[..., 4:, :] += 3.0
    v2[..., 4:, :] -= 5.0
    b = ctx.run((q, k2, v2, mask), {})
    oa, ob = a[0], b[0]
    name = sdpa_causal.check_name
    if torch.allclose(torch.nan_to_num(oa[..., :4, :]), torch.nan_to_num(ob[..., :4, :]), atol=1e-5):
        ctx.add(name, True, B("changing keys/values 4 and 5 leaves outputs 0–3 unchanged", "改变第 4、5 个 key/value，输出 0–3 不变"))
    else:
        ctx.add(name, False, B("changing keys/values 4 and 5 changed an earlier output: the future leaks through the mask",
                               "改变第 4、5 个 key/value 改变了之前的输出：未来的信息穿过了 mask"))


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def sdpa_grads(ctx: Ctx) -> None:
    mask = _full_masked_rows(2, 4, 5)
    gradient_check(ctx, lambda: list(_qkv(2, 2, 4, 5, 8, 91)),
                   lambda q, k, v: ctx.run((q, k, v, mask), {}), lambda q, k, v: _sdpa_expected(q, k, v, mask), "q, k, v")


@check("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
def sdpa_in_model(ctx: Ctx) -> None:
    model, sv, tv = inmodel.translation_model()

    def run(text):
        with inmodel.swapped(model, attention=ctx.entry):
            return inmodel.translate(model, sv, tv, text)
    _in_model_result(ctx, B("attention", "注意力"), run)


def sdpa_figure(ctx: Ctx) -> None:
    q, k, v = _qkv(1, 1, 6, 6, 8, 5)
    mask = make_causal_mask(6)
    try:
        out = ctx.run((q, k, v, mask), {})
        w = out[1][0, 0]
        if w.shape != (6, 6):
            return
    except (LearnerError, Exception):  # noqa: BLE001 - the figure is optional
        return
    ctx.figures["weights"] = {"yours": _matrix(w), "ours": _matrix(_sdpa_expected(q, k, v, mask)[1][0, 0])}


# ----------------------------------------------------------------------------------------------
# masks, PE, norms

def _causal_expected(T):
    return make_causal_mask(T)[0, 0]


def causal_figure(ctx: Ctx) -> None:
    try:
        m = ctx.run((6,), {})
        if isinstance(m, torch.Tensor) and m.shape == (6, 6):
            ctx.figures["mask"] = {"yours": _matrix(m.float(), 1), "ours": _matrix(_causal_expected(6).float(), 1)}
    except (LearnerError, Exception):  # noqa: BLE001
        pass


def _pad_expected(lengths, T):
    return lengths_mask(lengths.tolist(), T)


def _pe_expected(T, d_model):
    return sinusoidal_positional_encoding(T, d_model)


@check("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
def pe_in_model(ctx: Ctx) -> None:
    model, sv, tv = inmodel.translation_model()
    table = ctx.run((model.cfg.max_len, model.cfg.d_model), {})
    if not isinstance(table, torch.Tensor) or table.shape != model.pe.shape:
        return

    def run(text):
        with inmodel.swapped(model, pe=table.detach().to(torch.float32)):
            return inmodel.translate(model, sv, tv, text)
    _in_model_result(ctx, B("positional encoding", "位置编码"), run)


def pe_figure(ctx: Ctx) -> None:
    try:
        pe = ctx.run((32, 32), {})
        if isinstance(pe, torch.Tensor) and pe.shape == (32, 32):
            ctx.figures["pe"] = {"yours": _matrix(pe, 3), "ours": _matrix(_pe_expected(32, 32), 3)}
    except (LearnerError, Exception):  # noqa: BLE001
        pass


def _ln_expected(x, gamma, beta, eps=1e-5):
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps)


def _ln_case(shape, seed, dtype=torch.float32, scale=3.0, eps=1e-5, contiguous=True, offset=1.0):
    d = shape[-1]
    x = (rnd(*shape, seed=seed, dtype=dtype, scale=scale) + offset) if contiguous else noncontig(*shape, seed=seed)
    return (x, rnd(d, seed=seed + 1, dtype=dtype) + 1.0, rnd(d, seed=seed + 2, dtype=dtype)), {"eps": eps}


@check("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
def ln_in_model(ctx: Ctx) -> None:
    model, sv, tv = inmodel.translation_model()

    def run(text):
        with inmodel.swapped(model, layer_norm=ctx.entry):
            return inmodel.translate(model, sv, tv, text)
    _in_model_result(ctx, B("LayerNorm", " LayerNorm"), run)


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def ln_grads(ctx: Ctx) -> None:
    gradient_check(ctx, lambda: list(_ln_case((2, 3, 8), 5)[0]),
                   lambda x, g, b: ctx.run((x, g, b), {"eps": 1e-5}), lambda x, g, b: _ln_expected(x, g, b), "x, gamma, beta")


def _rms_expected(x, weight, eps=1e-6):
    """model/decoder.py's RMSNorm (F.rms_norm) with this weight and eps."""
    return F.rms_norm(x, (x.shape[-1],), weight, eps)


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def rms_grads(ctx: Ctx) -> None:
    gradient_check(ctx, lambda: list(_ln_case((2, 3, 8), 7)[0][:2]),
                   lambda x, w: ctx.run((x, w), {"eps": 1e-6}), lambda x, w: _rms_expected(x, w, 1e-6), "x, weight")


def _in_lm_check(what: dict[str, str], **swap):
    """An extra check: the learner's piece swapped into our trained decoder-only LM (lm.pt); the
    next-character predictions over a real text must be ours."""
    @check("in our model: the decoder-only LM predicts as before", "放进我们的模型：仅解码器语言模型的预测不变")
    def in_lm(ctx: Ctx) -> None:
        lm, tok = inmodel.language_model()
        ours = inmodel.our_lm_logits()
        try:
            with inmodel.swapped_lm(lm, **{k: ctx.entry for k in swap}):
                yours = inmodel.lm_logits(lm, tok)
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise LearnerError(explain_exception(exc, ctx.source)) from None
        same = int((yours.argmax(-1) == ours.argmax(-1)).sum())
        n = ours.shape[0]
        diff = float((yours.double() - ours.double()).abs().nan_to_num(float("inf")).max())
        ok = same == n and diff < 1e-3                   # float32 noise is ~1e-5
        text = inmodel.LM_TEXT[:12] + "…"
        msg = B(f"with your {what['en']} our language model predicts the same next character as ours at {same} of {n} "
                f"positions of “{text}” (max |Δ logit| = {diff:.2g})",
                f"用你的{what['zh']}，我们的语言模型在 “{text}” 的 {n} 个位置中有 {same} 个预测出与我们相同的下一个字符"
                f"（max |Δ logit| = {diff:.2g}）")
        ctx.add(in_lm.check_name, ok, msg)
    return in_lm


# ----------------------------------------------------------------------------------------------
# mha

def _mha_ours(d_model: int, n_heads: int, seed: int) -> MultiHeadAttention:
    m = MultiHeadAttention(d_model, n_heads)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return m.eval()


def _mha_expected(d_model, n_heads, q, k, v, mask=None, seed=0):
    return _mha_ours(d_model, n_heads, seed).to(q.dtype)(q, k, v, mask)


def _mha_call(cls, args, kwargs):
    d_model, n_heads, q, k, v, *rest = args
    mask = rest[0] if rest else None
    ours = _mha_ours(d_model, n_heads, kwargs.get("seed", 0)).to(q.dtype)
    mod = cls(d_model, n_heads)
    try:
        inmodel.load_mha_weights(mod, ours)
    except AttributeError as exc:
        raise LearnerError(B(f"your module needs the layers w_q, w_k, w_v, w_o as nn.Linear(d_model, d_model) ({exc})",
                             f"你的模块需要 w_q、w_k、w_v、w_o 四个 nn.Linear(d_model, d_model) 层（{exc}）")) from None
    except RuntimeError as exc:
        raise LearnerError(B(f"w_q, w_k, w_v, w_o must be nn.Linear(d_model, d_model) with bias ({exc})",
                             f"w_q、w_k、w_v、w_o 必须是带 bias 的 nn.Linear(d_model, d_model)（{exc}）")) from None
    mod = mod.to(q.dtype).eval()
    return mod(q, k, v, mask)


def _mha_in(B_, Tq, Tk, d, h, seed, mask=None, dtype=torch.float32):
    return (d, h, rnd(B_, Tq, d, seed=seed, dtype=dtype), rnd(B_, Tk, d, seed=seed + 1, dtype=dtype),
            rnd(B_, Tk, d, seed=seed + 2, dtype=dtype), mask), {"seed": seed}


@check("property: causality (a future token changes no earlier output)", "性质：因果性（改变未来的 token 不影响之前的输出）")
def mha_causal(ctx: Ctx) -> None:
    (d, h, x, _, _, _), kw = _mha_in(1, 6, 6, 16, 4, 301)
    mask = make_causal_mask(6)
    a = ctx.run((d, h, x, x, x, mask), kw)
    x2 = x.clone()
    x2[:, 4:] += 2.0
    b = ctx.run((d, h, x2, x2, x2, mask), kw)
    ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and \
        torch.allclose(torch.nan_to_num(a[:, :4]), torch.nan_to_num(b[:, :4]), atol=1e-5)
    ctx.add(mha_causal.check_name, ok,
            B("changing tokens 4 and 5 leaves outputs 0–3 unchanged", "改变第 4、5 个 token，输出 0–3 不变") if ok else
            B("changing tokens 4 and 5 changed an earlier output: the future leaks", "改变第 4、5 个 token 改变了之前的输出：未来信息泄漏"))


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def mha_grads(ctx: Ctx) -> None:
    (d, h, q, k, v, _), kw = _mha_in(2, 3, 4, 16, 4, 311)
    gradient_check(ctx, lambda: [q, k, v], lambda a, b, c: ctx.run((d, h, a, b, c, None), kw),
                   lambda a, b, c: _mha_expected(d, h, a, b, c, None, **kw), "q, k, v")


@check("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
def mha_in_model(ctx: Ctx) -> None:
    model, sv, tv = inmodel.translation_model()

    def run(text):
        try:
            cm = inmodel.swapped(model, mha_class=ctx.entry)
            cm.__enter__()
        except (AttributeError, RuntimeError) as exc:
            raise LearnerError(B(f"cannot load our weights into your module ({exc})", f"无法把我们的权重载入你的模块（{exc}）")) from None
        try:
            return inmodel.translate(model, sv, tv, text)
        finally:
            cm.__exit__(None, None, None)
    _in_model_result(ctx, B("multi-head attention", "多头注意力"), run)


# ----------------------------------------------------------------------------------------------
# swiglu, rope, kv cache, gqa (graded against model/decoder.py)

def _swiglu_expected(x, w_gate, w_up, w_down):
    d, d_ff = w_gate.shape
    ffn = dec.SwiGLU(d, d_ff).to(x.dtype)
    ffn.W_1.weight = torch.nn.Parameter(w_gate.t(), requires_grad=w_gate.requires_grad)
    ffn.W_3.weight = torch.nn.Parameter(w_up.t(), requires_grad=w_up.requires_grad)
    ffn.W_2.weight = torch.nn.Parameter(w_down.t(), requires_grad=w_down.requires_grad)
    if any(w.requires_grad for w in (w_gate, w_up, w_down)):      # keep the graph to the given tensors
        return (F.silu(x @ w_gate) * (x @ w_up)) @ w_down
    return ffn(x)


def _swiglu_in(B_, T, d, d_ff, seed, dtype=torch.float32, contiguous=True):
    x = rnd(B_, T, d, seed=seed, dtype=dtype) if contiguous else noncontig(B_, T, d, seed=seed)
    return (x, rnd(d, d_ff, seed=seed + 1, dtype=dtype) * 0.5, rnd(d, d_ff, seed=seed + 2, dtype=dtype) * 0.5,
            rnd(d_ff, d, seed=seed + 3, dtype=dtype) * 0.5), {}


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def swiglu_grads(ctx: Ctx) -> None:
    gradient_check(ctx, lambda: list(_swiglu_in(2, 3, 8, 16, 401)[0]), lambda *a: ctx.run(a, {}),
                   lambda *a: _swiglu_expected(*a), "x and the three matrices")


def _rope_expected(x, positions, base=10000.0):
    return dec.apply_rope(x, base=base, positions=positions)


@check("property: q·k after RoPE depends only on the distance m − n", "性质：RoPE 之后 q·k 只取决于距离 m − n")
def rope_relative(ctx: Ctx) -> None:
    q, k = rnd(1, 1, 1, 16, seed=501, dtype=torch.float64), rnd(1, 1, 1, 16, seed=502, dtype=torch.float64)
    dots = []
    for m, n in ((7, 3), (12, 8), (40, 36)):
        rq = ctx.run((q, torch.tensor([m])), {})
        rk = ctx.run((k, torch.tensor([n])), {})
        dots.append(float((rq * rk).sum()))
    ok = max(dots) - min(dots) < 1e-6 * max(1.0, abs(dots[0]))
    ctx.add(rope_relative.check_name, ok,
            B(f"q·k at (7, 3), (12, 8), (40, 36) are all {dots[0]:.6g}", f"(7, 3)、(12, 8)、(40, 36) 处的 q·k 都是 {dots[0]:.6g}")
            if ok else B(f"q·k at (7, 3), (12, 8), (40, 36) are {', '.join(f'{x:.5g}' for x in dots)}: not a pure rotation by position",
                         f"(7, 3)、(12, 8)、(40, 36) 处的 q·k 分别是 {', '.join(f'{x:.5g}' for x in dots)}：不是按位置的纯旋转"))


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def rope_grads(ctx: Ctx) -> None:
    pos = torch.arange(3, 8)
    gradient_check(ctx, lambda: [rnd(2, 2, 5, 8, seed=511)], lambda x: ctx.run((x, pos), {}),
                   lambda x: _rope_expected(x, pos), "x")


def _split(t: torch.Tensor, h: int) -> torch.Tensor:
    B_, T, d = t.shape
    return t.view(B_, T, h, d // h).transpose(1, 2)                     # (B, h, T, d_k)


def _kv_expected(x, w_q, w_k, w_v, n_heads):
    """Full causal self-attention over the whole sequence x (B, T, d) (model/decoder.py's mask and
    KVCache), as the step-by-step run must give: (outs (B, T, d), k (B, h, T, d_k), v)."""
    B_, T, d = x.shape
    q, k, v = _split(x @ w_q, n_heads), _split(x @ w_k, n_heads), _split(x @ w_v, n_heads)
    cache = dec.KVCache(1, B_, n_heads, d // n_heads, capacity=T, dtype=x.dtype)
    k_all, v_all = cache.append(0, k, v)
    ctx_, _ = scaled_dot_product_attention(q, k_all, v_all, dec.causal_mask(T, T))
    return ctx_.transpose(1, 2).reshape(B_, T, d), k_all.clone(), v_all.clone()


def _kv_call(fn, args, kwargs):
    """Run the learner's step T times from an empty cache; stack the outputs."""
    x, w_q, w_k, w_v, n_heads = args
    cache, outs = None, []
    for t in range(x.shape[1]):
        res = fn(x[:, t:t + 1], cache, w_q, w_k, w_v, n_heads)
        try:
            out, (kc, vc) = res
        except (TypeError, ValueError):
            raise LearnerError(B(f"return (out, (k_cache, v_cache)); got {type(res).__name__}",
                                 f"请返回 (out, (k_cache, v_cache))；实际得到 {type(res).__name__}")) from None
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (x.shape[0], 1, x.shape[2]):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise LearnerError(B(f"step {t}: out must be (B, 1, d) = {(x.shape[0], 1, x.shape[2])}, got {shape}",
                                 f"第 {t} 步：out 应为 (B, 1, d) = {(x.shape[0], 1, x.shape[2])}，实际 {shape}"))
        outs.append(out)
        cache = (kc, vc)
    return torch.cat(outs, dim=1), cache[0], cache[1]


def _kv_in(B_, T, d, h, seed, dtype=torch.float32):
    return (rnd(B_, T, d, seed=seed, dtype=dtype), rnd(d, d, seed=seed + 1, dtype=dtype) * 0.4,
            rnd(d, d, seed=seed + 2, dtype=dtype) * 0.4, rnd(d, d, seed=seed + 3, dtype=dtype) * 0.4, h), {}


def _gqa_expected(q, k, v, mask=None):
    n_rep = q.shape[1] // k.shape[1]
    return scaled_dot_product_attention(q, dec.repeat_kv(k, n_rep), dec.repeat_kv(v, n_rep), mask)[0]


def _gqa_in(B_, Hq, Hkv, Tq, Tk, d, seed, mask=None, dtype=torch.float32):
    return (rnd(B_, Hq, Tq, d, seed=seed, dtype=dtype), rnd(B_, Hkv, Tk, d, seed=seed + 1, dtype=dtype),
            rnd(B_, Hkv, Tk, d, seed=seed + 2, dtype=dtype), mask), {}


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def gqa_grads(ctx: Ctx) -> None:
    gradient_check(ctx, lambda: list(_gqa_in(2, 4, 2, 3, 5, 8, 601)[0][:3]), lambda q, k, v: ctx.run((q, k, v), {}),
                   lambda q, k, v: _gqa_expected(q, k, v), "q, k, v")


# ----------------------------------------------------------------------------------------------
# label smoothing, greedy decoding, BPE

def _ls_expected(logits, target, eps=0.1, ignore_index=-100):
    return F.cross_entropy(logits, target, label_smoothing=eps, ignore_index=ignore_index)


def _ls_in(N, V, seed, eps=0.1, ignore=(), ignore_index=-100, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(1 if ignore_index == 0 else 0, V, (N,), generator=g)
    for i in ignore:
        target[i] = ignore_index
    return (rnd(N, V, seed=seed + 1, dtype=dtype, scale=2.0), target), {"eps": eps, "ignore_index": ignore_index}


@check("gradients flow and match ours", "梯度能回传且与我们的一致")
def ls_grads(ctx: Ctx) -> None:
    (logits, target), kw = _ls_in(6, 5, 701, ignore=(2,))
    gradient_check(ctx, lambda: [logits], lambda x: ctx.run((x, target), kw), lambda x: _ls_expected(x, target, **kw),
                   "logits")


def _table_logits(table: list[list[float]]) -> Callable[[list[int]], torch.Tensor]:
    """A fake model: the logits of step t (prefix length t + 1) are table[t] (last row repeated)."""
    rows = torch.tensor(table, dtype=torch.float32)

    def next_logits(prefix: list[int]) -> torch.Tensor:
        return rows[min(len(prefix) - 1, len(rows) - 1)].clone()
    return next_logits


def _greedy_in(table, max_len):
    return (_table_logits(table), 1, 2, max_len), {}


def _greedy_expected(next_logits, bos_id, eos_id, max_len):
    return _ref_entry("greedy_decode")(next_logits, bos_id, eos_id, max_len)


@check("in our model: the translation model still translates", "放进我们的模型：翻译模型仍能正确翻译")
def greedy_in_model(ctx: Ctx) -> None:
    model, sv, tv = inmodel.translation_model()
    _in_model_result(ctx, B("decoding loop", "解码循环"),
                     lambda text: inmodel.translate(model, sv, tv, text, decode=ctx.entry))


def _bpe_expected(word_freqs):
    return _ref_entry("bpe_merge")(word_freqs)


LOW = {("l", "o", "w", "</w>"): 5, ("l", "o", "w", "e", "r", "</w>"): 2,
       ("n", "e", "w", "e", "s", "t", "</w>"): 6, ("w", "i", "d", "e", "s", "t", "</w>"): 3}
RUNS = {("a", "a", "a", "a"): 2, ("a", "a", "a", "</w>"): 3, ("b", "a", "a"): 1}
TIE = {("p", "q"): 3, ("x", "y", "z"): 3}


# ----------------------------------------------------------------------------------------------

SPECS: dict[str, Spec] = {
    "sdpa": Spec(_sdpa_expected, SDPA_CASES, _sdpa_axes,
                 extra=[sdpa_rows, sdpa_causal, sdpa_grads, sdpa_in_model, sdpa_figure]),
    "causal_mask": Spec(_causal_expected, [
        Case(B("T = 5", "T = 5"), lambda: ((5,), {}), shapes=True),
        Case(B("edge case: T = 1", "边界：T = 1"), lambda: ((1,), {})),
        Case(B("T = 9", "T = 9"), lambda: ((9,), {})),
    ], lambda T: ["mask (T, T)"], extra=[causal_figure]),
    "padding_mask": Spec(_pad_expected, [
        Case(B("lengths [3, 5, 1], T = 5", "lengths [3, 5, 1]，T = 5"), lambda: ((torch.tensor([3, 5, 1]), 5), {}), shapes=True),
        Case(B("edge case: B = 1, no padding", "边界：B = 1，没有 padding"), lambda: ((torch.tensor([4]), 4), {})),
        Case(B("edge case: an empty sequence (length 0)", "边界：空序列（长度 0）"), lambda: ((torch.tensor([0, 2]), 3), {})),
    ], lambda lengths, T: ["mask (B, 1, 1, T)"]),
    "sinusoidal_pe": Spec(_pe_expected, [
        Case(B("T = 10, d_model = 16", "T = 10，d_model = 16"), lambda: ((10, 16), {}), shapes=True),
        Case(B("edge case: T = 1, d_model = 4", "边界：T = 1，d_model = 4"), lambda: ((1, 4), {})),
        Case(B("T = 50, d_model = 64", "T = 50，d_model = 64"), lambda: ((50, 64), {})),
    ], lambda T, d: ["PE (T, d_model)"], extra=[pe_in_model, pe_figure]),
    "layer_norm": Spec(_ln_expected, [
        Case(B("values: x (B=2, T=5, d=16)", "数值：x (B=2, T=5, d=16)"), lambda: _ln_case((2, 5, 16), 1), shapes=True),
        Case(B("small variance (eps matters)", "方差很小（eps 起作用）"), lambda: _ln_case((2, 3, 8), 11, scale=1e-3, offset=0.0)),
        Case(B("edge case: one token, x (1, 16)", "边界：一个 token，x (1, 16)"), lambda: _ln_case((1, 16), 21)),
        Case(B("float64 inputs", "float64 输入"), lambda: _ln_case((3, 4, 8), 31, torch.float64)),
        Case(B("non-contiguous x", "非连续 x"), lambda: _ln_case((2, 6, 8), 41, contiguous=False)),
    ], lambda x, *a, **k: ["y (…, d) like x"], extra=[ln_grads, ln_in_model]),
    "mha": Spec(_mha_expected, [
        Case(B("values: self-attention (B=2, T=5, d_model=16, h=4)", "数值：自注意力（B=2, T=5, d_model=16, h=4）"),
             lambda: _mha_in(2, 5, 5, 16, 4, 201), shapes=True),
        Case(B("with a causal mask", "带因果 mask"), lambda: _mha_in(2, 5, 5, 16, 4, 211, make_causal_mask(5))),
        Case(B("cross-attention: Tq ≠ Tk with a padding mask", "交叉注意力：Tq ≠ Tk，带 padding mask"),
             lambda: _mha_in(2, 3, 6, 16, 2, 221, lengths_mask([6, 2], 6))),
        Case(B("edge case: T = 1, h = 1", "边界：T = 1，h = 1"), lambda: _mha_in(3, 1, 1, 8, 1, 231)),
        Case(B("fully masked rows give zeros before w_o, never NaN", "全遮住的行：w_o 之前为 0，不是 NaN"),
             lambda: _mha_in(2, 4, 5, 16, 4, 241, _full_masked_rows(2, 4, 5))),
        Case(B("float64", "float64"), lambda: _mha_in(2, 4, 4, 32, 8, 251, dtype=torch.float64)),
    ], lambda d, h, q, *a, **k: ["output (B, Tq, d_model)"], call=_mha_call, kind="class",
        extra=[mha_causal, mha_grads, mha_in_model]),
    "rms_norm": Spec(_rms_expected, [
        Case(B("values: x (B=2, T=5, d=16)", "数值：x (B=2, T=5, d=16)"),
             lambda: ((_ln_case((2, 5, 16), 1)[0][:2]), {"eps": 1e-6}), shapes=True),
        Case(B("small values (eps matters)", "很小的值（eps 起作用）"),
             lambda: ((_ln_case((2, 3, 8), 11, scale=1e-3, offset=0.0)[0][0], _ln_case((8,), 12)[0][0]), {"eps": 1e-5})),
        Case(B("edge case: one token, x (1, 16)", "边界：一个 token，x (1, 16)"), lambda: ((_ln_case((1, 16), 21)[0][:2]), {"eps": 1e-6})),
        Case(B("float64, eps = 1e-5", "float64，eps = 1e-5"), lambda: ((_ln_case((3, 4, 8), 31, torch.float64)[0][:2]), {"eps": 1e-5})),
        Case(B("non-contiguous x", "非连续 x"), lambda: ((_ln_case((2, 6, 8), 41, contiguous=False)[0][:2]), {"eps": 1e-6})),
    ], lambda x, *a, **k: ["y (…, d) like x"], extra=[rms_grads, _in_lm_check(B("RMSNorm", " RMSNorm"), rms_norm=1)]),
    "swiglu": Spec(_swiglu_expected, [
        Case(B("values: x (B=2, T=5, d=8), d_ff = 16", "数值：x (B=2, T=5, d=8)，d_ff = 16"),
             lambda: _swiglu_in(2, 5, 8, 16, 1), shapes=True),
        Case(B("edge case: T = 1", "边界：T = 1"), lambda: _swiglu_in(1, 1, 8, 24, 11)),
        Case(B("float64", "float64"), lambda: _swiglu_in(2, 3, 16, 40, 21, torch.float64)),
        Case(B("non-contiguous x", "非连续 x"), lambda: _swiglu_in(2, 4, 8, 16, 31, contiguous=False)),
    ], lambda x, *a: ["output (B, T, d)"], extra=[swiglu_grads, _in_lm_check(B("SwiGLU", " SwiGLU"), swiglu=1)]),
    "rope": Spec(_rope_expected, [
        Case(B("values: x (B=2, h=3, T=6, d=8), positions 0…5", "数值：x (B=2, h=3, T=6, d=8)，positions 0…5"),
             lambda: ((rnd(2, 3, 6, 8, seed=1), torch.arange(6)), {}), shapes=True),
        Case(B("positions that do not start at 0 (after a KV cache)", "不从 0 开始的 positions（KV 缓存之后）"),
             lambda: ((rnd(1, 2, 4, 16, seed=11), torch.arange(9, 13)), {})),
        Case(B("edge case: T = 1 at position 7", "边界：T = 1，位置 7"), lambda: ((rnd(2, 2, 1, 8, seed=21), torch.tensor([7])), {})),
        Case(B("base = 100, d = 4", "base = 100，d = 4"), lambda: ((rnd(1, 1, 5, 4, seed=31), torch.arange(5)), {"base": 100.0})),
        Case(B("float64, d = 64", "float64，d = 64"),
             lambda: ((rnd(1, 2, 7, 64, seed=41, dtype=torch.float64), torch.arange(7)), {})),
        Case(B("non-contiguous x", "非连续 x"), lambda: ((noncontig(1, 2, 5, 8, seed=51), torch.arange(5)), {})),
    ], lambda x, *a, **k: ["output (B, h, T, d)"], extra=[rope_relative, rope_grads, _in_lm_check(B("RoPE", " RoPE"), rope=1)]),
    "kv_cache_step": Spec(_kv_expected, [
        Case(B("step by step = causal attention over the whole sequence (B=2, T=5, d=16, h=4)",
               "逐步 = 对整段做因果注意力（B=2, T=5, d=16, h=4）"), lambda: _kv_in(2, 5, 16, 4, 1), shapes=True),
        Case(B("edge case: one step (T = 1, empty cache)", "边界：只走一步（T = 1，缓存为空）"), lambda: _kv_in(3, 1, 8, 2, 11)),
        Case(B("one head, 8 steps", "单头，8 步"), lambda: _kv_in(1, 8, 8, 1, 21)),
        Case(B("float64", "float64"), lambda: _kv_in(2, 4, 16, 2, 31, torch.float64)),
    ], lambda *a, **k: ["outputs of every step (B, T, d)", "k_cache (B, h, T, d_k)", "v_cache (B, h, T, d_k)"],
        call=_kv_call),
    "gqa": Spec(_gqa_expected, [
        Case(B("values: Hq = 4, Hkv = 2 (B=2, T=5, d=8)", "数值：Hq = 4，Hkv = 2（B=2, T=5, d=8）"),
             lambda: _gqa_in(2, 4, 2, 5, 5, 8, 1), shapes=True),
        Case(B("MQA: Hkv = 1", "MQA：Hkv = 1"), lambda: _gqa_in(2, 4, 1, 5, 5, 8, 11)),
        Case(B("MHA: Hkv = Hq", "MHA：Hkv = Hq"), lambda: _gqa_in(1, 3, 3, 4, 4, 8, 21)),
        Case(B("Hq = 6, Hkv = 3, causal mask", "Hq = 6，Hkv = 3，因果 mask"), lambda: _gqa_in(2, 6, 3, 5, 5, 8, 31, make_causal_mask(5))),
        Case(B("Tq ≠ Tk with fully masked rows", "Tq ≠ Tk，有全遮住的行"), lambda: _gqa_in(2, 4, 2, 4, 5, 8, 41, _full_masked_rows(2, 4, 5))),
        Case(B("float64", "float64"), lambda: _gqa_in(1, 8, 2, 3, 3, 16, 51, dtype=torch.float64)),
    ], lambda *a, **k: ["output (B, Hq, Tq, d)"], extra=[gqa_grads, _in_lm_check(B("grouped-query attention", "分组查询注意力"), gqa=1)]),
    "label_smoothing": Spec(_ls_expected, [
        Case(B("values: N = 6, V = 5, eps = 0.1", "数值：N = 6，V = 5，eps = 0.1"), lambda: _ls_in(6, 5, 1), shapes=True),
        Case(B("ignored (padding) rows", "被忽略的（padding）行"), lambda: _ls_in(8, 7, 11, ignore=(1, 5, 6))),
        Case(B("eps = 0 is plain cross-entropy", "eps = 0 即普通交叉熵"), lambda: _ls_in(5, 4, 21, eps=0.0)),
        Case(B("ignore_index = 0 (pad id 0), eps = 0.2", "ignore_index = 0（pad id 为 0），eps = 0.2"),
             lambda: _ls_in(6, 6, 31, eps=0.2, ignore=(0, 3), ignore_index=0)),
        Case(B("float64", "float64"), lambda: _ls_in(4, 9, 41, eps=0.3, ignore=(2,), dtype=torch.float64)),
    ], lambda *a, **k: ["loss () a scalar tensor"], extra=[ls_grads]),
    "greedy_decode": Spec(_greedy_expected, [
        Case(B("stops after EOS", "产生 EOS 后停止"),
             lambda: _greedy_in([[0, 0, 0, 5, 1, 0], [0, 0, 0, 0, 6, 1], [0, 0, 9, 0, 0, 0], [0, 0, 0, 7, 0, 0]], 10), shapes=True),
        Case(B("max_len reached without EOS", "没有 EOS，达到 max_len"),
             lambda: _greedy_in([[0, 0, 0, 5, 1, 0], [0, 0, 0, 0, 6, 1]], 4)),
        Case(B("EOS at the first step", "第一步就是 EOS"), lambda: _greedy_in([[0, 0, 3, 1, 0, 0]], 6)),
    ], lambda *a, **k: ["token ids list[int]"], extra=[greedy_in_model]),
    "bpe_merge": Spec(_bpe_expected, [
        Case(B("low / lower / newest / widest (a three-way tie)", "low / lower / newest / widest（三方并列）"),
             lambda: ((dict(LOW),), {}), shapes=True),
        Case(B("runs of one symbol: a a a a", "同一符号的连续串：a a a a"), lambda: ((dict(RUNS),), {})),
        Case(B("a tie between pairs of different words", "不同词的符号对并列"), lambda: ((dict(TIE),), {})),
        Case(B("edge case: no word has two symbols", "边界：没有词含两个符号"), lambda: (({("a",): 3, ("b",): 1},), {})),
    ], lambda *a, **k: ["(pair, word_freqs)"]),
}
