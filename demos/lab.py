"""The training lab's engine: training runs in background threads, plain Python (no Streamlit).

    reg = REGISTRY                                   # one per process
    run = reg.start(session_id, cfg)                 # raises LabBusy when the session already runs one
    run.beat()                                       # the page calls this on every poll (heartbeat)
    run.snapshot()                                   # -> dict: status, rows, step, total, ...
    run.stop()                                       # stop flag, checked every step
    reg.runs(session_id)                             # this session's runs, oldest first (capped)

Safety rules (so a projector demo never leaves a runaway thread):
  * a run checks its stop flag every training step;
  * a run stops itself when no heartbeat came for HEARTBEAT_TIMEOUT seconds (the page or the
    browser tab is gone), status "abandoned";
  * steps are capped at MAX_STEPS; only one active run per session, and at most MAX_ACTIVE runs in
    the whole process (extra starts raise LabBusy);
  * each thread uses torch.set_num_threads(1), so the app keeps a core for everyone else;
  * every session keeps at most MAX_RUNS runs (the oldest finished ones are dropped).

Also here: trained_translation() for other pages (re-exported from model.checkpoint).
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import asdict, dataclass, field

import torch

from model.checkpoint import CheckpointError, load_checkpoint, trained_translation
from model.data import EVAL_SEED, examples
from model.train import LogRow, TrainConfig, exact_match, train

__all__ = ["LabRun", "LabRegistry", "LabBusy", "REGISTRY", "MAX_RUNS", "MAX_STEPS", "MAX_ACTIVE",
           "HEARTBEAT_TIMEOUT", "trained_translation", "load_checkpoint", "CheckpointError", "lab_config",
           "PRESETS", "PRESET_PAIRS", "preset_config", "measure"]

MAX_RUNS = 6
MAX_STEPS = 3000
MAX_ACTIVE = 2
HEARTBEAT_TIMEOUT = 8.0
FINAL_EVAL_N = 200
ACTIVE = ("starting", "running")


class LabBusy(RuntimeError):
    """A run cannot start now. .reason is 'session' (this session already runs one) or 'process'."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def lab_config(task: str, *, n_layers: int = 2, n_heads: int = 4, d_model: int = 64,
               pos_encoding: str = "sinusoidal", norm_first: bool = False, warmup: int = 100,
               scale_attention: bool = True, steps: int = 600, lr: float = 2e-3, seed: int = 0) -> TrainConfig:
    """The lab's TrainConfig: steps are capped at MAX_STEPS; d_ff = 2 * d_model; evaluation every
    50 steps on 200 validation sentences (the curves), no early stop (runs are compared step by step)."""
    return TrainConfig(task=task, n_layers=n_layers, n_heads=n_heads, d_model=d_model, d_ff=2 * d_model,
                       pos_encoding=pos_encoding, norm_first=norm_first, warmup=warmup,
                       scale_attention=scale_attention, steps=max(1, min(int(steps), MAX_STEPS)), lr=lr,
                       eval_every=50, eval_n=200, target=2.0, log_every=5, seed=seed)


@dataclass
class LabRun:
    session: str
    cfg: TrainConfig
    label: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    status: str = "starting"          # starting | running | done | stopped | abandoned | error
    error: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    heldout_exact_match: float | None = None
    heartbeat_timeout: float = HEARTBEAT_TIMEOUT

    def __post_init__(self):
        self._rows: list[LogRow] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_beat = time.monotonic()
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------
    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def _should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        if time.monotonic() - self._last_beat > self.heartbeat_timeout:
            self._abandoned = True
            return True
        return False

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # -- the thread ----------------------------------------------------------------------------
    def _on_log(self, row: LogRow) -> None:
        with self._lock:
            self._rows.append(row)

    def _main(self) -> None:
        torch.set_num_threads(1)          # leave the other core to the UI and other sessions
        self._abandoned = False
        try:
            self.status = "running"
            res = train(self.cfg, on_log=self._on_log, should_stop=self._should_stop)
            if res.stopped == "stopped":
                self.status = "abandoned" if self._abandoned else "stopped"
            elif res.stopped == "diverged":
                self.status = "error"
                self.error = "loss is NaN/inf (diverged)"
            else:
                self.status = "done"
            if self.status in ("done", "stopped") and res.steps > 0:
                held = examples(self.cfg.task, FINAL_EVAL_N, EVAL_SEED)
                self.heldout_exact_match = exact_match(res.model, res.src_vocab, res.tgt_vocab, held)
        except Exception as exc:  # noqa: BLE001 - report any failure in the UI, never crash the app
            self.status = "error"
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.time()

    def start(self) -> LabRun:
        self._thread = threading.Thread(target=self._main, name=f"lab-{self.id}", daemon=True)
        self._thread.start()
        return self

    # -- reading ---------------------------------------------------------------------------
    def rows(self) -> list[LogRow]:
        with self._lock:
            return list(self._rows)

    def snapshot(self) -> dict:
        rows = self.rows()
        last = rows[-1] if rows else None
        evals = [r for r in rows if r.exact_match is not None]
        return {
            "id": self.id, "label": self.label, "task": self.cfg.task, "status": self.status,
            "error": self.error, "step": last.step if last else 0, "total": self.cfg.steps,
            "loss": last.loss if last else None, "elapsed": last.elapsed if last else 0.0,
            "exact_match": evals[-1].exact_match if evals else None,
            "heldout_exact_match": self.heldout_exact_match,
            "steps": [r.step for r in rows], "losses": [r.loss for r in rows],
            "token_acc": [r.token_acc for r in rows],
            "eval_steps": [r.step for r in evals], "eval_em": [r.exact_match for r in evals],
            "config": asdict(self.cfg),
        }


class LabRegistry:
    """All lab runs of this process, per session."""

    def __init__(self, max_runs: int = MAX_RUNS, max_active: int = MAX_ACTIVE,
                 heartbeat_timeout: float = HEARTBEAT_TIMEOUT):
        self.max_runs, self.max_active, self.heartbeat_timeout = max_runs, max_active, heartbeat_timeout
        self._runs: dict[str, list[LabRun]] = {}
        self._lock = threading.Lock()

    def runs(self, session: str) -> list[LabRun]:
        with self._lock:
            return list(self._runs.get(session, []))

    def active(self, session: str | None = None) -> list[LabRun]:
        with self._lock:
            pool = self._runs.get(session, []) if session is not None else \
                [r for rs in self._runs.values() for r in rs]
            return [r for r in pool if r.active]

    def start(self, session: str, cfg: TrainConfig, label: str = "") -> LabRun:
        with self._lock:
            mine = self._runs.setdefault(session, [])
            if any(r.active for r in mine):
                raise LabBusy("session")
            if sum(r.active for rs in self._runs.values() for r in rs) >= self.max_active:
                raise LabBusy("process")
            run = LabRun(session, cfg, label=label, heartbeat_timeout=self.heartbeat_timeout)
            mine.append(run)
            while len(mine) > self.max_runs:               # drop the oldest finished run
                old = next((r for r in mine if not r.active), None)
                if old is None:
                    break
                mine.remove(old)
            self._prune()
        return run.start()

    def remove(self, session: str, run_id: str) -> None:
        with self._lock:
            for r in self._runs.get(session, []):
                if r.id == run_id:
                    r.stop()
            self._runs[session] = [r for r in self._runs.get(session, []) if r.id != run_id]

    def stop_session(self, session: str) -> None:
        for r in self.runs(session):
            r.stop()

    def _prune(self, older_than: float = 3600.0) -> None:
        """Forget sessions whose runs all finished more than an hour ago (lock held)."""
        now = time.time()
        for s in list(self._runs):
            rs = self._runs[s]
            if all(not r.active and r.finished and now - r.finished > older_than for r in rs):
                del self._runs[s]


REGISTRY = LabRegistry()


# -- presets: the lab's classroom comparisons, measured ------------------------------------------
# Each preset is a full set of the page's URL parameters (so /train_lab?preset=NAME or the
# same parameters spelled out reproduce it). The claims in i18n/train_lab.yaml were measured with
# `python -m demos.lab` (measure() below; numbers in the tips).

_BASE = {"task": "reverse", "layers": 2, "heads": 4, "d_model": 64, "pe": "sinusoidal", "norm": "post",
         "warmup": 100, "lr": 0.002, "steps": 600, "scaling": True}
# Post-LN, no warmup, high peak lr, deeper stack: stuck near chance (loss ~ ln 10); the same with
# warmup, or Pre-LN without warmup, learns.
_DEEP = {**_BASE, "layers": 4, "d_model": 32, "lr": 0.01, "steps": 200}
PRESETS: dict[str, dict] = {
    "pe_on": dict(_BASE),
    "pe_none": {**_BASE, "pe": "none"},
    "postln_no_warmup": {**_DEEP, "warmup": 0},
    "postln_warmup": {**_DEEP, "warmup": 100},
    "preln_no_warmup": {**_DEEP, "norm": "pre", "warmup": 0},
}
PRESET_PAIRS = {"pe": ("pe_on", "pe_none"), "ln": ("postln_no_warmup", "postln_warmup", "preln_no_warmup")}


def preset_config(name: str, seed: int = 0, **overrides) -> TrainConfig:
    """The TrainConfig the lab page starts for preset `name` (page parameters -> lab_config)."""
    p = {**PRESETS[name], **overrides}
    return lab_config(p["task"], n_layers=p["layers"], n_heads=p["heads"], d_model=p["d_model"],
                      pos_encoding=p["pe"], norm_first=p["norm"] == "pre", warmup=p["warmup"],
                      scale_attention=p["scaling"], steps=p["steps"], lr=p["lr"], seed=seed)


def measure(names: list[str], seeds: list[int], eval_n: int = 200, **overrides) -> dict[str, list[dict]]:
    """Train each preset once per seed (the calling thread's torch threads; evaluation only at the
    end, on `eval_n` validation sentences) -> {preset: [{seed, final_loss, exact_match, seconds}]}.
    final_loss is the mean training loss of the last 20 steps (the logged rows)."""
    out: dict[str, list[dict]] = {}
    for name in names:
        for seed in seeds:
            cfg = preset_config(name, seed, **overrides)
            cfg.eval_every, cfg.eval_n = cfg.steps, eval_n
            res = train(cfg)
            tail = [r.loss for r in res.history if r.step > cfg.steps - 20]
            out.setdefault(name, []).append({"seed": seed, "final_loss": sum(tail) / len(tail),
                                             "exact_match": res.val_exact_match, "seconds": res.seconds})
    return out


def main(argv: list[str] | None = None) -> int:
    """python -m demos.lab [ln|pe|all] [--seeds 0,1,2]: measure the presets' claims (1 thread)."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m demos.lab", description=main.__doc__)
    ap.add_argument("which", nargs="?", default="ln", choices=["ln", "pe", "all"])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    names = [n for k, ns in PRESET_PAIRS.items() if args.which in (k, "all") for n in ns]
    t0 = time.perf_counter()
    res = measure(names, [int(s) for s in args.seeds.split(",")])
    for name, rows in res.items():
        losses = " ".join(f"{r['final_loss']:.2f}" for r in rows)
        ems = " ".join(f"{r['exact_match']:.0%}" for r in rows)
        print(f"{name:18s} final loss {losses:24s} exact match {ems:20s} "
              f"({sum(r['seconds'] for r in rows):.0f} s)  {PRESETS[name]}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
