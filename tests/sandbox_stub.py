"""A stand-in grader for the sandbox tests (`TIL_DRILL_GRADER=tests.sandbox_stub:grade`): the
sandbox's behaviour must not depend on what the real drills check.

Drill "double": the source defines `f(x)`; it passes when `f(torch.arange(3.))` is `2 * x`.
Any other drill id: the source is only executed; it passes when it raises nothing.
"""
from __future__ import annotations

import time

import torch


def grade(drill_id: str, source: str) -> dict:
    t0 = time.perf_counter()
    checks = []
    ns: dict = {"__name__": "learner"}
    try:
        exec(compile(source, "<your code>", "exec"), ns)  # noqa: S102 - this runs in the sandbox
        ok, msg = True, "ran"
        if drill_id == "double":
            x = torch.arange(3.0)
            ok = bool(torch.equal(ns["f"](x), 2 * x))
            msg = "f(x) == 2x" if ok else "f(x) != 2x"
    except Exception as exc:  # noqa: BLE001 - a learner's error is a failed check
        ok, msg = False, f"{type(exc).__name__}: {exc}"
    checks.append({"name": "runs", "passed": ok, "message": msg})
    return {"id": drill_id, "passed": ok, "checks": checks,
            "ms": round((time.perf_counter() - t0) * 1000, 1), "figures": {}}
