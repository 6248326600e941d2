"""Grade a learner's solution of a drill by behaviour, in this process.

    grade(drill_id, source) -> {"id", "passed", "checks": [{"name", "passed", "message", ...}], "ms", "figures"}

The learner's source is exec()'d in a fresh module namespace (the sandbox worker calls this; the
app and the CLI go through drills.sandbox.check, never here). grade() never raises: a syntax
error, a missing function, an exception inside the learner's code (with its line number), a
wrong return type, a wrong shape, wrong values, NaN... each becomes a failed check with a
message that teaches. Every check carries both languages: "name"/"message" (English) and
"name_zh"/"message_zh"; a check that recognises a known mistake names it in "mistake".

How a value check works (drills/specs.py has the cases of each drill): fresh inputs are made
from a seed; our implementation (model/transformer.py, model/decoder.py, torch) gives the
expected output; the learner's output is compared with tolerances (never strings), so einsum
vs matmul, masked_fill vs where, float64 all pass. When it differs, the known wrong solutions
(drills/fixtures/<id>/<mistake>.py) run on the same inputs: if the learner's output matches one
of them, the check names that mistake.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from drills import registry
from drills.checks import (
    LEARNER_FILE,
    N_COMPILE,
    N_DEFINES,
    N_RUNS,
    N_SHAPES,
    B,
    Case,
    Ctx,
    LearnerError,
    Spec,
    compare,
    explain_exception,
    value_check,
)
from drills.specs import SPECS

__all__ = ["grade", "LEARNER_FILE", "Case", "Spec", "Ctx", "LearnerError", "compare"]

def _grade(drill: registry.Drill, spec: Spec, source: str, ctx_out: list) -> None:
    ctx = Ctx(drill, spec, None, source)
    ctx_out.append(ctx)
    if not isinstance(source, str) or not source.strip():
        ctx.add(N_COMPILE, False, B("your code is empty: start from the starter code",
                                   "代码为空：请从初始代码开始写"))
        return
    try:
        code = compile(source, LEARNER_FILE, "exec")
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        ctx.add(N_COMPILE, False, B(f"{type(exc).__name__} on line {exc.lineno}: {exc.msg} (`{text}`)",
                                    f"第 {exc.lineno} 行有 {type(exc).__name__}：{exc.msg}（`{text}`）"))
        return
    except (ValueError, TypeError) as exc:
        ctx.add(N_COMPILE, False, B(f"cannot compile: {exc}", f"无法编译：{exc}"))
        return
    ctx.add(N_COMPILE, True)
    ns: dict[str, Any] = {"__name__": "__drill__"}
    try:
        exec(code, ns)  # noqa: S102 - the learner's code, in the sandbox worker
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        ctx.add(N_RUNS, False, explain_exception(exc, source))
        return
    ctx.add(N_RUNS, True)
    name = {k: v.format(entry=drill.entry) for k, v in N_DEFINES.items()}
    entry = ns.get(drill.entry)
    if entry is None:
        ctx.add(name, False, B(f"your code does not define `{drill.entry}`; keep this signature: {drill.signature}",
                               f"你的代码没有定义 `{drill.entry}`；请保持这个签名：{drill.signature}"))
        return
    if spec.kind == "class" and not isinstance(entry, type):
        ctx.add(name, False, B(f"`{drill.entry}` must be a class (an nn.Module), got {type(entry).__name__}",
                               f"`{drill.entry}` 应是一个类（nn.Module），实际是 {type(entry).__name__}"))
        return
    if spec.kind == "function" and (isinstance(entry, type) or not callable(entry)):
        ctx.add(name, False, B(f"`{drill.entry}` must be a function, got {type(entry).__name__}",
                               f"`{drill.entry}` 应是一个函数，实际是 {type(entry).__name__}"))
        return
    ctx.add(name, True)
    ctx.entry = entry
    for i, case in enumerate(spec.cases):
        ok = value_check(ctx, case)
        if not ok and i == 0 and case.shapes and ctx.checks[-1]["name"] == N_SHAPES["en"]:
            return                                          # wrong shapes: the rest would only repeat it
    for extra in spec.extra:
        try:
            extra(ctx)
        except LearnerError as exc:
            name = getattr(extra, "check_name", B("property", "性质"))
            ctx.add(name, False, exc.text)


def grade(drill_id: str, source: str) -> dict:
    """Grade `source` (the learner's file) for drill `drill_id`. Never raises."""
    t0 = time.perf_counter()
    holder: list[Ctx] = []
    checks: list[dict]
    figures: dict = {}
    try:
        drill = registry.get(drill_id)
        spec = SPECS[drill_id]
    except (KeyError, registry.UnknownDrill):
        checks = [{"name": "known drill", "name_zh": "题目存在", "passed": False,
                   "message": f"there is no drill {drill_id!r}", "message_zh": f"没有名为 {drill_id!r} 的题目",
                   "mistake": None}]
    else:
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)            # tiny tensors: one thread is fastest, and fair to other workers
            with torch.random.fork_rng(devices=[]):
                _grade(drill, spec, source, holder)
        except Exception as exc:  # noqa: BLE001 - a grader bug must not look like a crash to the learner
            if holder:
                holder[0].add(B("grader", "评分器"), False,
                              B(f"the grader itself failed ({type(exc).__name__}: {exc}); please report it",
                                f"评分器自身出错（{type(exc).__name__}: {exc}），请报告"))
        finally:
            torch.set_num_threads(threads)
        checks = holder[0].checks if holder else []
        figures = holder[0].figures if holder else {}
    passed = bool(checks) and all(c["passed"] for c in checks)
    return {"id": drill_id, "passed": passed, "checks": checks,
            "ms": round((time.perf_counter() - t0) * 1000, 1), "figures": figures}


def warm() -> None:
    """Load what grade() would otherwise load lazily (the specs, the trained model) and grade every
    reference once, so that torch's and the grader's first-call costs are paid here. The sandbox
    worker calls this once, before it forks a child per job: every child inherits the warm state
    (measured: a forked child grades sdpa in ~90 ms after this, ~250 ms without)."""
    from drills import inmodel
    inmodel.translation_model()
    for drill in registry.all_drills():        # (the first grade() also imports drills.specs)
        grade(drill.id, drill.reference)
