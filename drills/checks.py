"""The building blocks of a drill's checks: bilingual messages, the learner-error type, cases and
specs, the per-run context, and the tolerant comparison of outputs (drills/grade.py runs them,
drills/specs.py declares each drill's cases with them)."""
from __future__ import annotations

import functools
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from drills import registry

LEARNER_FILE = "<your code>"
MAX_REPR = 160


def B(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}


class LearnerError(Exception):
    """The learner's code raised (or returned something unusable); .text is {en, zh}."""

    def __init__(self, text: dict[str, str]):
        super().__init__(text["en"])
        self.text = text


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= MAX_REPR else s[: MAX_REPR - 1] + "…"


def explain_exception(exc: BaseException, source: str) -> dict[str, str]:
    """'ZeroDivisionError: ... (line 7: `x / 0`)' for an exception raised in the learner's code."""
    line = None
    for fr in traceback.extract_tb(exc.__traceback__):
        if fr.filename == LEARNER_FILE:
            line = fr.lineno
    what = f"{type(exc).__name__}: {_short(str(exc))[:300]}" if str(exc) else type(exc).__name__
    if isinstance(exc, RecursionError):
        en_hint, zh_hint = " — a function calls itself without end", " —— 函数无休止地调用自己"
    else:
        en_hint = zh_hint = ""
    if line is None:
        return B(f"your code raised {what}{en_hint}", f"你的代码抛出了 {what}{zh_hint}")
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return B(f"your code raised {what}{en_hint} (line {line}: `{text}`)",
             f"你的代码抛出了 {what}{zh_hint}（第 {line} 行：`{text}`）")


# ----------------------------------------------------------------------------------------------
# Specs (filled in drills/specs.py)

@dataclass
class Case:
    """One value check: fresh inputs from make(), our output from Spec.expected."""
    name: dict[str, str]                               # the check's name {en, zh}
    make: Callable[[], tuple[tuple, dict]]             # -> (args, kwargs), new tensors every call
    shapes: bool = False                               # check the output's type and shape first


@dataclass
class Spec:
    expected: Callable[..., Any]                       # our implementation, the drill's signature
    cases: list[Case]
    axes: Callable[..., list[str]] = lambda *a, **k: []   # axis names of each output, e.g. "(B, h, Tq, d)"
    call: Callable[..., Any] | None = None             # (entry, args, kwargs) -> output; default entry(*args)
    atol: float = 1e-5
    rtol: float = 1e-4
    extra: list[Callable[[Ctx], None]] = field(default_factory=list)   # properties, gradients, in-model
    kind: str = "function"                             # or "class"


@dataclass
class Ctx:
    drill: registry.Drill
    spec: Spec
    entry: Any
    source: str
    checks: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    # -- recording ------------------------------------------------------------------------------
    def add(self, name: dict[str, str], passed: bool, message: dict[str, str] | None = None,
            mistake: str | None = None) -> bool:
        message = message or B("ok", "通过")
        self.checks.append({"name": name["en"], "name_zh": name["zh"], "passed": bool(passed),
                            "message": message["en"], "message_zh": message["zh"], "mistake": mistake})
        return passed

    def fail_with(self, name: dict[str, str], problem: dict[str, str], mistake: str | None) -> bool:
        """A failed check; a recognised mistake is explained in full the first time, then referred to."""
        if mistake and any(c["mistake"] == mistake for c in self.checks):
            problem = B(f"the same mistake as above ({problem['en']})", f"与上面同一个错误（{problem['zh']}）")
        elif mistake:
            m = self.drill.mistakes[mistake]
            problem = B(f"{m['en']} ({problem['en']})", f"{m['zh']}（{problem['zh']}）")
        return self.add(name, False, problem, mistake)

    # -- running the learner's code -----------------------------------------------------------
    def run(self, args: tuple, kwargs: dict, entry: Any = None) -> Any:
        """The learner's (or a fixture's) output on these inputs; LearnerError when it raises."""
        entry = self.entry if entry is None else entry
        try:
            if self.spec.call is not None:
                return self.spec.call(entry, args, kwargs)
            return entry(*args, **kwargs)
        except LearnerError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - anything the learner's code does
            raise LearnerError(explain_exception(exc, self.source)) from None

    def diagnose(self, make: Callable[[], tuple[tuple, dict]], got: Any, expected: Any,
                 shapes_only: bool = False) -> str | None:
        """The known mistake whose output equals the learner's on these inputs, if any."""
        for key in self.drill.mistakes:
            wrong = _fixture_entry(self.drill.id, key, self.drill.entry)
            if wrong is None:
                continue
            args, kwargs = make()
            try:
                out = self.run(args, kwargs, entry=wrong)
            except LearnerError:
                continue
            if compare(got, out, self.spec, equal_nan=True, shapes_only=shapes_only) is None and \
                    compare(out, expected, self.spec) is not None:
                return key
        return None


@functools.cache
def _fixture_entry(drill_id: str, key: str, entry: str) -> Any:
    """A known wrong solution's function or class (our own files, trusted)."""
    try:
        src = registry.get(drill_id).fixture(key)
    except OSError:
        return None
    ns: dict[str, Any] = {"__name__": f"drills.fixtures.{drill_id}.{key}"}
    exec(compile(src, f"fixtures/{drill_id}/{key}.py", "exec"), ns)  # noqa: S102 - our fixture file
    return ns.get(entry)


# ----------------------------------------------------------------------------------------------
# Comparing outputs

def _leaves(x: Any) -> list[Any]:
    if isinstance(x, (tuple, list)) and any(isinstance(e, (torch.Tensor, tuple, list)) for e in x):
        out = []
        for e in x:
            out.extend(_leaves(e))
        return out
    return [x]


def _like(got: Any, expected: Any) -> list[Any]:
    """The learner's output flattened along the structure of the expected one."""
    if len(_leaves(expected)) == 1 or not isinstance(expected, (tuple, list)):
        return [got]
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return [got]
    out = []
    for a, b in zip(got, expected, strict=True):
        out.extend(_like(a, b))
    return out


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def compare(got: Any, expected: Any, spec: Spec, *, equal_nan: bool = False, shapes_only: bool = False,
            axes: list[str] | None = None) -> dict[str, str] | None:
    """None when got matches expected (structure, types, shapes, dtype kind, values within
    tolerance), else what differs, {en, zh}."""
    e = _leaves(expected)
    g = _like(got, expected)
    if len(g) != len(e):
        return B(f"expected {len(e)} output value(s), got {len(g)}: {_short(got)}",
                 f"应返回 {len(e)} 个值，实际得到 {len(g)} 个：{_short(got)}")
    for i, (a, b) in enumerate(zip(g, e, strict=True)):
        which = B(f"output {i + 1}: " if len(e) > 1 else "", f"第 {i + 1} 个输出：" if len(e) > 1 else "")
        ax = f" {axes[i]}" if axes and i < len(axes) and axes[i] else ""
        if isinstance(b, torch.Tensor):
            if not isinstance(a, torch.Tensor):
                return B(f"{which['en']}expected a torch.Tensor{ax}, got {type(a).__name__}: {_short(a)}",
                         f"{which['zh']}应返回 torch.Tensor{ax}，实际是 {type(a).__name__}：{_short(a)}")
            if tuple(a.shape) != tuple(b.shape):
                return B(f"{which['en']}expected shape{ax} = {_shape(b)}, got {_shape(a)}",
                         f"{which['zh']}形状应为{ax} = {_shape(b)}，实际是 {_shape(a)}")
            if b.dtype == torch.bool and a.dtype != torch.bool:
                return B(f"{which['en']}expected a bool tensor, got dtype {a.dtype}",
                         f"{which['zh']}应返回 bool 张量，实际 dtype 是 {a.dtype}")
            if b.dtype != torch.bool and not (a.is_floating_point() or a.is_complex()) and b.is_floating_point():
                return B(f"{which['en']}expected a float tensor, got dtype {a.dtype}",
                         f"{which['zh']}应返回浮点张量，实际 dtype 是 {a.dtype}")
            if shapes_only:
                continue
            problem = _values(a, b, spec, equal_nan)
            if problem:
                return B(which["en"] + problem["en"], which["zh"] + problem["zh"])
        else:
            if shapes_only and type(a) is type(b):
                continue
            if a != b:
                return B(f"{which['en']}expected {_short(b)}, got {_short(a)}",
                         f"{which['zh']}应为 {_short(b)}，实际是 {_short(a)}")
    return None


def _values(a: torch.Tensor, b: torch.Tensor, spec: Spec, equal_nan: bool) -> dict[str, str] | None:
    a = a.detach()
    b = b.detach()
    if b.dtype == torch.bool:
        bad = (a != b).nonzero()
        if len(bad) == 0:
            return None
        idx = tuple(bad[0].tolist())
        return B(f"{len(bad)} entries differ, e.g. at {list(idx)}: expected {bool(b[idx])}, got {bool(a[idx])}",
                 f"有 {len(bad)} 个元素不同，例如 {list(idx)} 处：应为 {bool(b[idx])}，实际 {bool(a[idx])}")
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    nan_a, nan_b = torch.isnan(a64), torch.isnan(b64)
    if nan_a.any() and not equal_nan:
        idx = tuple(nan_a.nonzero()[0].tolist())
        return B(f"your output contains NaN ({int(nan_a.sum())} values, e.g. at {list(idx)})",
                 f"你的输出含有 NaN（{int(nan_a.sum())} 个，例如 {list(idx)} 处）")
    if equal_nan and not torch.equal(nan_a, nan_b):
        return B("NaN in different places", "NaN 位置不同")
    a64, b64 = torch.nan_to_num(a64, nan=0.0), torch.nan_to_num(b64, nan=0.0)
    if torch.allclose(a64, b64, atol=spec.atol, rtol=spec.rtol):
        return None
    diff = (a64 - b64).abs()
    diff = torch.nan_to_num(diff, nan=math.inf)
    flat = int(diff.argmax())
    idx = list(torch.unravel_index(torch.tensor(flat), diff.shape)) if diff.dim() else []
    idx = [int(i) for i in idx]
    ev, gv = (b64[tuple(idx)].item(), a64[tuple(idx)].item()) if idx else (b64.item(), a64.item())
    where_en = f" at {idx}" if idx else ""
    where_zh = f"（位置 {idx}）" if idx else ""
    return B(f"values differ: max |yours − ours| = {diff.max().item():.3g}{where_en}: expected {ev:.5g}, got {gv:.5g}",
             f"数值不同：max |你的 − 我们的| = {diff.max().item():.3g}{where_zh}：应为 {ev:.5g}，实际 {gv:.5g}")


# ----------------------------------------------------------------------------------------------
# The checks every drill runs

N_COMPILE = B("your code compiles", "代码可以编译")
N_RUNS = B("your code runs (imports and definitions)", "代码可以运行（导入和定义）")
N_DEFINES = B("defines {entry}", "定义了 {entry}")
N_SHAPES = B("output type and shapes", "输出类型和形状")


def value_check(ctx: Ctx, case: Case) -> bool:
    """Run one case: shapes first when case.shapes, then values; name a known mistake."""
    args, kwargs = case.make()
    expected = ctx.spec.expected(*args, **kwargs)
    axes = ctx.spec.axes(*args, **kwargs)
    args, kwargs = case.make()
    try:
        got = ctx.run(args, kwargs)
    except LearnerError as exc:
        return ctx.add(N_SHAPES if case.shapes else case.name, False, exc.text)
    if case.shapes:
        problem = compare(got, expected, ctx.spec, shapes_only=True, axes=axes)
        if problem is not None:
            return ctx.fail_with(N_SHAPES, problem, ctx.diagnose(case.make, got, expected, shapes_only=True))
        ctx.add(N_SHAPES, True, B("shapes as expected: " + ", ".join(axes), "形状正确：" + ", ".join(axes))
                if axes else None)
    problem = compare(got, expected, ctx.spec, axes=axes)
    if problem is None:
        return ctx.add(case.name, True)
    return ctx.fail_with(case.name, problem, ctx.diagnose(case.make, got, expected))
