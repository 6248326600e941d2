"""Run a learner's drill code safely: `check(drill_id, source)` → the grader's result dict.

Learner code never runs in the server process. `check` puts the job on a bounded queue served
by a pool of pre-started workers (`drills/worker.py`, torch imported once per worker); each
worker forks a fresh child per job that enters the sandbox (rlimits, clean environment, own
temporary directory, Landlock, unprivileged uid, seccomp, empty network namespace — whichever
this machine offers; `capabilities()` says which actually held) and runs `drills.grade.grade`.

    check(drill_id, source, timeout_s=None) -> {"id", "passed", "checks": [...], "ms", "figures"}
    enabled(server_address) -> (bool, reason_code)   whether the page should offer Run
    capabilities() -> dict                           what the sandbox enforces here (probed)

A limit that is hit gives a failed result whose single check "runs within limits" teaches what
happened ("your code used more than 10 s of CPU time — an infinite loop?"); every check this
module makes carries both languages as the grader's do (`name`/`message` in English,
`name_zh`/`message_zh`) and a stable `code` (e.g. "sandbox.cpu_limit"). Output the code printed
comes back as `output` (at most 64 KB; `output_truncated` and a note in `notes` when cut).

Settings (environment of the server): TIL_DRILL_WORKERS (2), TIL_DRILL_QUEUE (64 waiting jobs),
TIL_DRILL_CPU_S (10), TIL_DRILL_MEM_MB (512 above the worker's size), TIL_DRILL_UID_BASE (61000;
worker slot i runs its children as uid/gid 61000+i when the server is root), TIL_DRILL_GRADER
("drills.grade:grade"), TIL_DRILLS (on/off; see `enabled`).
"""
from __future__ import annotations

import atexit
import ipaddress
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_SOURCE = 100_000            # characters of learner code accepted
START_TIMEOUT_S = 180.0         # a worker's torch import + warm-up + probe
GRACE_S = 10.0                  # beyond a job's wall limit before the worker itself is presumed hung
IDLE_CHECK_S = 1.0              # an idle worker thread looks this often whether its worker died (then restarts it)
# /proc and /dev are not listed: a child reads only its own /proc/<pid> and a few global files
# (drills/worker.py adds them), not other processes' command lines or /dev/shm.
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/sys")
PRIVATE_TOP = {"data", ".git"}  # repository entries a child may not even read


# ---------------------------------------------------------------- results

MESSAGES = {
    "sandbox.cpu_limit": (
        "runs within limits", "运行限制",
        "your code used more than {cpu} s of CPU time and was stopped — an infinite loop, or a "
        "loop over far more items than needed?",
        "你的代码占用 CPU 超过 {cpu} 秒，已被终止——是否有死循环，或循环次数远超所需？"),
    "sandbox.wall_limit": (
        "runs within limits", "运行限制",
        "your code did not finish within {wall:.0f} s of wall-clock time and was stopped — is it "
        "waiting (sleep, input) or stuck?",
        "你的代码在 {wall:.0f} 秒内没有结束，已被终止——是否在等待（sleep、input）或卡住了？"),
    "sandbox.memory_limit": (
        "runs within limits", "运行限制",
        "your code tried to use more than {mem} MB of memory — a tensor far larger than the "
        "shapes in the statement, or a list that grows forever?",
        "你的代码试图使用超过 {mem} MB 内存——张量是否远大于题目中的形状，或列表无限增长？"),
    "sandbox.crashed": (
        "runs within limits", "运行限制",
        "the process running your code crashed ({how}) before it produced a result",
        "运行你代码的进程在得出结果前崩溃了（{how}）"),
    "sandbox.no_result": (
        "runs within limits", "运行限制",
        "your code ended the process before the grader could report ({how}) — sys.exit or "
        "os._exit in your code?",
        "你的代码在评分完成前结束了进程（{how}）——代码里是否调用了 sys.exit 或 os._exit？"),
    "sandbox.threads": (
        "runs within limits", "运行限制",
        "your code tried to start threads (torch.set_num_threads, threading, a thread pool); drills "
        "run on one thread — remove that line",
        "你的代码试图启动线程（torch.set_num_threads、threading、线程池）；练习只在单线程中运行——请删掉这一行"),
    "sandbox.error": (
        "runs within limits", "运行限制",
        "the grader stopped with {error}",
        "评分程序出错：{error}"),
    "sandbox.busy": (
        "server busy", "服务器繁忙",
        "the server is grading many submissions right now; try again in a moment",
        "服务器正在为很多提交评分，请稍后再试"),
    "sandbox.too_long": (
        "code size", "代码长度",
        "your code is {n} characters long; the limit is {limit}",
        "你的代码有 {n} 个字符，上限为 {limit}"),
    "sandbox.unavailable": (
        "runner available", "运行器可用",
        "the drill runner could not start ({why}); tell the instructor",
        "练习运行器无法启动（{why}），请告诉老师"),
    "sandbox.output_cut": (
        "output", "输出",
        "your code printed {mb:.1f} MB; only the first {kb} KB are shown",
        "你的代码输出了 {mb:.1f} MB，只显示前 {kb} KB"),
}


def wall_limit(cpu_s: float) -> float:
    """Wall-clock seconds a child may live: generous beside its CPU limit, because on a loaded
    machine (two cores, a class pressing Run) CPU time accrues slower than the clock; the wall
    limit is there for code that waits (sleep, input) rather than computes."""
    return 2 * cpu_s + 5


def limit_result(drill_id: str, code: str, ms: float, **params) -> dict:
    """A failed result with one check explaining `code` (a key of MESSAGES)."""
    name, name_zh, en, zh = MESSAGES[code]
    check_ = {"name": name, "name_zh": name_zh, "passed": False, "message": en.format(**params),
              "message_zh": zh.format(**params), "code": code}
    return {"id": drill_id, "passed": False, "checks": [check_], "ms": round(ms, 1), "figures": {}}


def _threads(text: str) -> bool:
    """Thread creation refused (RLIMIT_NPROC): libgomp's or Python's message."""
    return "Thread creation failed" in text or "can't start new thread" in text


def _out_of_memory(message: str) -> bool:
    """A grader message reporting that the learner's code hit the memory limit (Python's
    MemoryError, or torch's allocator failing with ENOMEM)."""
    return "MemoryError" in message or "allocate memory" in message.lower()


def _result_from_worker(drill_id: str, res: dict, ms: float) -> dict:
    """Turn the worker's report on one child into the result the page and CLI show."""
    cpu_limit, payload = res.get("cpu_limit_s", 10), res.get("payload") or {}
    used_cpu = res.get("cpu_s") or 0.0
    if res.get("timed_out") and used_cpu < 0.5 * cpu_limit:
        out = limit_result(drill_id, "sandbox.wall_limit", ms, wall=res.get("wall_s", 0))
    elif res.get("timed_out") or (res.get("signal") in (signal.SIGXCPU, signal.SIGKILL)
                                  and used_cpu >= cpu_limit - 0.5):
        out = limit_result(drill_id, "sandbox.cpu_limit", ms, cpu=cpu_limit)
    elif payload.get("error") == "MemoryError":
        out = limit_result(drill_id, "sandbox.memory_limit", ms, mem=res.get("mem_mb"))
    elif isinstance(payload.get("result"), dict):
        out = dict(payload["result"])
        out.setdefault("id", drill_id)
        out.setdefault("ms", round(ms, 1))
        messages = [str(c.get("message", "")) for c in out.get("checks", [])]
        for hit, code in ((any(map(_out_of_memory, messages)), "sandbox.memory_limit"),
                          (any(map(_threads, messages)), "sandbox.threads")):
            if hit:
                out["passed"] = False
                out["checks"] = list(out.get("checks", [])) + limit_result(
                    drill_id, code, ms, mem=res.get("mem_mb"))["checks"]
    elif _threads(res.get("output") or ""):
        out = limit_result(drill_id, "sandbox.threads", ms)
    elif str(payload.get("error", "")).startswith("SystemExit"):
        out = limit_result(drill_id, "sandbox.no_result", ms, how=payload["error"])
    elif payload.get("error"):
        out = limit_result(drill_id, "sandbox.error", ms, error=payload["error"])
    elif res.get("signal"):
        out = limit_result(drill_id, "sandbox.crashed", ms, how=res.get("status_text"))
    else:
        out = limit_result(drill_id, "sandbox.no_result", ms, how=res.get("status_text"))
    text, total = res.get("output") or "", res.get("output_bytes") or 0
    if text:
        out["output"] = text
    if total > len(text.encode()):
        out["output_truncated"] = True
        name, name_zh, en, zh = MESSAGES["sandbox.output_cut"]
        params = {"mb": total / 2**20, "kb": len(text.encode()) // 1024}
        out.setdefault("notes", []).append(
            {"name": name, "name_zh": name_zh, "message": en.format(**params),
             "message_zh": zh.format(**params), "code": "sandbox.output_cut"})
    return out


# ---------------------------------------------------------------- the pool

def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def read_paths() -> list[str]:
    """Trees a sandboxed child may read (Landlock): the system, Python, and the repository's code
    directories — not `data/` (the default progress store), `.git`, nor $TIL_DB's directory."""
    paths = list(SYSTEM_READ)
    paths += sorted({sys.prefix, sys.base_prefix, sys.exec_prefix,
                     str(Path(sys.executable).resolve().parents[1])})
    private = {ROOT / name for name in PRIVATE_TOP}
    db = os.environ.get("TIL_DB", "")
    if db and "://" not in db:
        private.add(Path(db).resolve().parent)
    for entry in sorted(ROOT.iterdir()):
        if entry.is_dir() and entry not in private and not entry.name.startswith("."):
            if not any(p == entry or entry in p.parents for p in private):
                paths.append(str(entry))
    return paths


class _Worker:
    """One long-lived worker process and the thread that feeds it jobs."""

    def __init__(self, pool: Pool, slot: int) -> None:
        self.pool, self.slot = pool, slot
        self.proc: subprocess.Popen | None = None
        self.capabilities: dict | None = None
        self.starts = 0
        self.failed = False                          # the last start-up failed
        self.thread = threading.Thread(target=self._loop, name=f"drill-worker-{slot}", daemon=True)

    def spawn(self) -> None:
        p = self.pool
        cmd = [sys.executable, "-m", "drills.worker", "--slot", str(self.slot), "--grader", p.grader,
               "--cpu-s", str(p.cpu_s), "--mem-mb", str(p.mem_mb), "--uid-base", str(p.uid_base),
               "--read-paths", json.dumps(read_paths())]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HOME": "/nonexistent"}
        self.starts += 1
        self.proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, start_new_session=True, bufsize=0)
        hello = self._read_line(time.monotonic() + START_TIMEOUT_S)
        if not hello or not hello.get("ready"):
            code = self.proc.poll()
            self.kill()
            raise RuntimeError(f"worker {self.slot} did not start ("
                               + (f"exit code {code}" if code is not None else "no answer")
                               + "; its error is in the server's log)")
        self.capabilities = hello["capabilities"]
        self.pool._ready.set()

    def _read_line(self, deadline: float) -> dict | None:
        """One JSON line from the worker, or None on EOF/timeout (the answer is small and
        capped by the worker, so a line is never large)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd, buf = self.proc.stdout.fileno(), bytearray()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                buf += chunk
        return json.loads(buf)

    def stop(self) -> None:
        """Close the worker's stdin (it exits after its current job), then kill what is left."""
        if self.proc is not None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _loop(self) -> None:
        failures = 0
        while not self.pool._closed:
            if not self.alive():
                try:
                    self.spawn()
                    failures = 0
                except (OSError, RuntimeError, ValueError) as exc:
                    failures += 1
                    self.failed = True
                    self.pool._start_error = str(exc)
                    self.pool._ready.set()          # capabilities() reports the error
                    self.pool._answer_waiting_if_down()
                    time.sleep(min(30, 2 ** failures))
                    continue
            self.failed = False
            try:
                job = self.pool._jobs.get(timeout=IDLE_CHECK_S)
            except queue.Empty:
                continue                             # idle: back to the top, which replaces a dead worker
            if job is None:
                break
            if not self.alive():                     # died while idle (killed, OOM): replace it first
                try:
                    self.spawn()
                except (OSError, RuntimeError, ValueError) as exc:
                    self.pool._start_error = str(exc)
                    job[3].set_result(limit_result(job[0], "sandbox.unavailable", 0, why=str(exc)))
                    continue
            self._run(*job)
        self.kill()

    def _run(self, drill_id: str, source: str, cpu_s: float, fut: Future, t_enq: float) -> None:
        if fut.done():                               # the caller gave up while it waited
            return
        wall = wall_limit(cpu_s)
        req = {"drill": drill_id, "source": source, "cpu_s": cpu_s, "wall_s": wall}
        res = None
        for attempt in range(2):
            try:
                assert self.proc is not None and self.proc.stdin is not None
                self.proc.stdin.write(json.dumps(req).encode() + b"\n")
                res = self._read_line(time.monotonic() + wall + GRACE_S)
            except (OSError, ValueError):
                res = None
            if res is not None:
                break
            # The worker died or hung (learner code cannot signal it: other uid). A worker that
            # died (killed from outside, OOM killer) is replaced and the job retried once.
            died = self.proc is not None and self.proc.poll() is not None
            self.kill()
            if attempt or not died:
                break
            try:
                self.spawn()
            except (OSError, RuntimeError, ValueError):
                break
        ms = (time.perf_counter() - t_enq) * 1000
        if res is None:
            out = limit_result(drill_id, "sandbox.crashed", ms, how="the runner restarted")
        else:
            out = _result_from_worker(drill_id, res, ms)
        if not fut.done():
            fut.set_result(out)


class Pool:
    def __init__(self, workers: int | None = None, *, queue_size: int | None = None,
                 grader: str | None = None, cpu_s: float | None = None,
                 mem_mb: int | None = None, uid_base: int | None = None) -> None:
        self.n = max(1, workers or _env_int("TIL_DRILL_WORKERS", 2))
        self.grader = grader or os.environ.get("TIL_DRILL_GRADER", "drills.grade:grade")
        self.cpu_s = float(cpu_s or _env_int("TIL_DRILL_CPU_S", 10))
        self.mem_mb = mem_mb or _env_int("TIL_DRILL_MEM_MB", 512)
        self.uid_base = uid_base or _env_int("TIL_DRILL_UID_BASE", 61000)
        self._jobs: queue.Queue = queue.Queue(maxsize=queue_size or _env_int("TIL_DRILL_QUEUE", 64))
        self._workers = [_Worker(self, i) for i in range(self.n)]
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._started = self._closed = False
        self._start_error: str | None = None

    def start(self) -> Pool:
        with self._lock:
            if not self._started:
                self._started = True
                for w in self._workers:
                    w.thread.start()
        return self

    def check(self, drill_id: str, source: str, *, timeout_s: float | None = None) -> dict:
        t0 = time.perf_counter()
        if len(source) > MAX_SOURCE:
            return limit_result(drill_id, "sandbox.too_long", 0, n=len(source), limit=MAX_SOURCE)
        self.start()
        if self._closed:
            return limit_result(drill_id, "sandbox.unavailable", 0, why="the runner was shut down")
        if self.down():
            return limit_result(drill_id, "sandbox.unavailable", 0,
                                why=self._start_error or "no worker started")
        cpu_s = float(timeout_s or self.cpu_s)
        fut: Future = Future()
        try:
            self._jobs.put_nowait((drill_id, source, cpu_s, fut, t0))
        except queue.Full:
            return limit_result(drill_id, "sandbox.busy", 0)
        per_job = wall_limit(cpu_s) + GRACE_S
        bound = START_TIMEOUT_S + per_job * (self._jobs.maxsize // self.n + 2)
        try:
            return fut.result(timeout=bound)
        except FutureTimeout:
            fut.cancel()
            return limit_result(drill_id, "sandbox.unavailable", (time.perf_counter() - t0) * 1000,
                                why=self._start_error or "no worker answered")

    def down(self) -> bool:
        """Every worker's last start-up failed (none is running)."""
        return all(w.failed and not w.alive() for w in self._workers)

    def _answer_waiting_if_down(self) -> None:
        """With no worker able to start, waiting jobs get "unavailable" now, not after a timeout."""
        while self.down():
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job[3].done():
                job[3].set_result(limit_result(job[0], "sandbox.unavailable", 0,
                                               why=self._start_error or "no worker started"))

    def capabilities(self, timeout_s: float = START_TIMEOUT_S) -> dict:
        """What the sandbox enforces, as a worker's probe child found it (starts the pool)."""
        self.start()
        self._ready.wait(timeout_s)
        for w in self._workers:
            if w.capabilities:
                return dict(w.capabilities, workers=self.n, queue=self._jobs.maxsize,
                            cpu_s=self.cpu_s, mem_mb=self.mem_mb)
        return {"error": self._start_error or "no worker started", "workers": self.n}

    def worker_pids(self) -> list[int | None]:
        return [w.proc.pid if w.alive() and w.proc else None for w in self._workers]

    def close(self) -> None:
        self._closed = True
        for _ in self._workers:
            try:
                self._jobs.put_nowait(None)
            except queue.Full:
                break
        for w in self._workers:
            w.stop()


_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def pool() -> Pool:
    """The process-wide pool (created on first use, workers started lazily)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = Pool()
            atexit.register(_POOL.close)
        return _POOL


def check(drill_id: str, source: str, *, timeout_s: float | None = None) -> dict:
    """Grade `source` for drill `drill_id` in a sandboxed child; never raises for learner code."""
    return pool().check(drill_id, source, timeout_s=timeout_s)


def warm() -> None:
    """Start the workers now (torch imports in the background), e.g. when the page opens."""
    pool().start()


def capabilities() -> dict:
    """Which protections hold on this machine, probed by a real sandboxed child:
    `{"seccomp": bool, "netns": "netns"|"userns+netns"|"", "landlock": ABI int (0 = none),
    "uid_drop": uid or None, "no_fork", "no_network", "outside_write_refused": bool,
    "rlimits": [...], "applied": [...], "workers", "queue", "cpu_s", "mem_mb"}`."""
    return pool().capabilities()


# ---------------------------------------------------------------- who may run drills

def is_loopback(address: str | None) -> bool:
    """True when a server bound to `address` is reachable only from this machine. Streamlit's
    default (no `server.address`) listens on every interface, so None is not loopback."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def enabled(server_address: str | None) -> tuple[bool, str]:
    """Whether the page offers Run, and why, as a reason code:
    "env_on" (TIL_DRILLS=on), "env_off" (TIL_DRILLS=off), "loopback" (self-study default), or
    "remote" (the server is reachable from other machines; the instructor may set TIL_DRILLS=on)."""
    flag = os.environ.get("TIL_DRILLS", "").strip().lower()
    if flag in ("on", "1", "true", "yes"):
        return True, "env_on"
    if flag in ("off", "0", "false", "no"):
        return False, "env_off"
    if is_loopback(server_address):
        return True, "loopback"
    return False, "remote"
