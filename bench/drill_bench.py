"""The drills sandbox under a class: fifty learners press Run at the same moment.

run(quick=False) -> dict, rows(result) -> [(label, value)]. A fresh pool (drills.sandbox.Pool,
TIL_DRILL_WORKERS workers, 2 by default) is started and warmed (one check per drill used), then
50 threads released together by a barrier each call `check()` once with a real drill: the
reference solution plus a comment naming the learner, so that no two submissions are the same
text. Time-to-result is measured per thread from its call to its return (queueing, the worker's
fork, the sandbox set-up, grading, the answer); we report p95, median and max.

  drill_check_p95_ms        50 concurrent `sdpa` checks (values on several shapes and edge cases,
                            properties, the in-model translation): the class figure
  drill_check_mixed_p95_ms  50 concurrent checks spread over every drill (a class working on
                            different drills); not in --quick
  drill_check_single_ms     one check alone (median of 5): the floor under no load
  drill_check_service_ms    per drill, the grader's own time inside the child (median `ms`)
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

from drills import registry
from drills.sandbox import Pool

N_CONCURRENT = 50
CLASS_DRILL = "sdpa"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * len(ordered)) - 1))]


def _pool_cpu_s(pool: Pool) -> float:
    """CPU seconds used so far by the workers and every job child they reaped (utime + stime +
    cutime + cstime from /proc/<pid>/stat): what a burst costs, whatever else loads the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pool.worker_pids():
        if pid:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])
    return total / tick


def _burst(pool: Pool, jobs: list[tuple[str, str]]) -> tuple[list[float], list[dict]]:
    """Run every job from its own thread, all released at once; returns times (ms), results."""
    times = [0.0] * len(jobs)
    results: list[dict] = [{}] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def one(i: int) -> None:
        drill, source = jobs[i]
        barrier.wait()
        t0 = time.perf_counter()
        results[i] = pool.check(drill, source)
        times[i] = (time.perf_counter() - t0) * 1000

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, results


def run(quick: bool = False) -> dict:
    drills = [d.id for d in registry.all_drills()]
    refs = {d: registry.get(d).reference for d in drills}
    pool = Pool(queue_size=2 * N_CONCURRENT)
    try:
        t0 = time.perf_counter()
        caps = pool.capabilities()
        start_s = time.perf_counter() - t0
        service: dict[str, list[float]] = {}
        for d in drills if not quick else [CLASS_DRILL]:
            res = pool.check(d, refs[d])
            service.setdefault(d, []).append(res.get("ms", 0.0))
        single = []
        for i in range(5):
            t = time.perf_counter()
            res = pool.check(CLASS_DRILL, refs[CLASS_DRILL] + f"\n# single {i}\n")
            single.append((time.perf_counter() - t) * 1000)
            service[CLASS_DRILL].append(res.get("ms", 0.0))

        jobs = [(CLASS_DRILL, refs[CLASS_DRILL] + f"\n# learner {i}\n") for i in range(N_CONCURRENT)]
        cpu0 = _pool_cpu_s(pool)
        times, results = _burst(pool, jobs)
        burst_cpu = _pool_cpu_s(pool) - cpu0
        out = {
            # CPU the 50 jobs cost (workers + children). Two workers run two jobs at a time, so on
            # an otherwise idle 2-core machine the 48th of 50 results comes after ~0.95 × cpu / 2.
            "drill_burst_cpu_s": round(burst_cpu, 2),
            "drill_check_cpu_ms_per_job": round(burst_cpu / N_CONCURRENT * 1000, 1),
            "drill_check_p95_idle_estimate_ms": round(0.95 * burst_cpu / min(pool.n, os.cpu_count() or 1) * 1000, 1),
            "drill_check_p95_ms": round(_p95(times), 1),
            "drill_check_median_ms": round(statistics.median(times), 1),
            "drill_check_max_ms": round(max(times), 1),
            "drill_check_failed": sum(not r.get("passed") for r in results),
            "drill_check_single_ms": round(statistics.median(single), 1),
            "drill_check_n": N_CONCURRENT,
            "drill_check_drill": CLASS_DRILL,
            "drill_check_workers": pool.n,
            "drill_pool_start_s": round(start_s, 2),
            "drill_load_avg_1m": round(os.getloadavg()[0], 2),   # other work on the machine
            "drill_sandbox": {k: caps.get(k) for k in ("seccomp", "netns", "landlock", "uid_drop",
                                                        "scratch", "no_fork", "no_network")},
        }
        if not quick:
            mixed = [(drills[i % len(drills)], refs[drills[i % len(drills)]] + f"\n# learner {i}\n")
                     for i in range(N_CONCURRENT)]
            times_m, results_m = _burst(pool, mixed)
            out["drill_check_mixed_p95_ms"] = round(_p95(times_m), 1)
            out["drill_check_mixed_failed"] = sum(not r.get("passed") for r in results_m)
            out["drill_check_failures"] = [
                (d, next((c["message"][:200] for c in r.get("checks", []) if not c.get("passed")), ""))
                for (d, _), r in zip(mixed, results_m, strict=True) if not r.get("passed")][:5]
            for (d, _), r in zip(mixed, results_m, strict=True):
                service.setdefault(d, []).append(r.get("ms", 0.0))
        out["drill_check_service_ms"] = {d: round(statistics.median(v), 1) for d, v in service.items()}
        return out
    finally:
        pool.close()


def rows(result: dict) -> list[tuple[str, str]]:
    r = result
    out = [
        (f"{r['drill_check_n']} concurrent '{r['drill_check_drill']}' checks: p95 (target ≤ 2000 ms)",
         f"{r['drill_check_p95_ms']:.0f} ms"),
        ("  median / max", f"{r['drill_check_median_ms']:.0f} / {r['drill_check_max_ms']:.0f} ms"),
        ("  failed results (the reference must pass)", str(r["drill_check_failed"])),
        ("  CPU per check (worker + sandboxed child)", f"{r['drill_check_cpu_ms_per_job']:.0f} ms"),
        ("  p95 on an idle machine, from that CPU (0.95 × total / workers)",
         f"{r['drill_check_p95_idle_estimate_ms']:.0f} ms"),
    ]
    if "drill_check_mixed_p95_ms" in r:
        out.append((f"{r['drill_check_n']} concurrent checks over every drill: p95",
                    f"{r['drill_check_mixed_p95_ms']:.0f} ms ({r['drill_check_mixed_failed']} failed)"))
    out += [
        ("one check alone (median of 5)", f"{r['drill_check_single_ms']:.0f} ms"),
        ("workers / pool start (torch import, warm-up, probe)",
         f"{r['drill_check_workers']} / {r['drill_pool_start_s']:.1f} s"),
        ("grader time in the child, per drill (median ms)",
         ", ".join(f"{d} {v:.0f}" for d, v in r["drill_check_service_ms"].items())),
        ("load average (1 min) during the run", f"{r['drill_load_avg_1m']:.1f} on 2 cores"),
        ("sandbox", ", ".join(f"{k}={v}" for k, v in r["drill_sandbox"].items())),
    ]
    return out
