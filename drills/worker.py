"""The drills sandbox worker: `python -m drills.worker --slot N [--grader module:function] ...`.

Started by `drills.sandbox` (never by hand), with a clean environment and pipes for stdin/stdout.
One worker is a long-lived process that, before it sees any learner code,

1. leaves the server's network namespace (an empty one: not even loopback is up), where the
   kernel allows it (root, or unprivileged user namespaces);
2. imports torch (one intra-op thread), the grader and the modules learners commonly import,
   and warms the grader (`warm()` if it has one), so that no job pays for an import;
3. forks a probe child that enters the sandbox and tests what actually holds, and sends that
   report (`capabilities`) as its first line.

Then, for each job (one JSON line on stdin: `{"drill", "source", "cpu_s", "mem_mb"}`), it forks a
fresh child (copy-on-write: torch is already in memory) which enters the sandbox and calls
`grade(drill, source)`. The worker itself never runs learner code: it only watches the child
(wall-clock deadline, output cap), reaps it, deletes its directory and answers one JSON line.
A crash, a leak or an infinite loop dies with the child.

The sandbox a child enters (`enter_sandbox`), in this order:
- its own session/process group, parent-death signal, stdin from /dev/null, stdout and stderr
  into a pipe the worker reads with a cap, every other inherited descriptor closed;
- rlimits: CPU seconds, address space (the worker's size at fork + `mem_mb`), file size,
  no core files, open files, and processes (1: no fork, once the uid is unprivileged);
- a fresh 0700 temporary directory as cwd, HOME and TMPDIR, and a minimal environment;
- Landlock (`landlock` package): reads only from the system, Python and the code trees; writes
  only inside its temporary directory and /dev/null;
- as root: drop to an unprivileged uid/gid of its own (`uid_base + slot`), no groups, keeping
  only CAP_DAC_READ_SEARCH when Landlock holds (see `_drop_uid`);
- seccomp (`pyseccomp`, libseccomp): socket/socketpair, fork/vfork/clone-without-CLONE_THREAD,
  execve, ptrace, signals to any other process, and a few kernel-attack-surface calls fail
  with EPERM.
"""
from __future__ import annotations

import argparse
import ctypes
import errno
import functools
import gc
import importlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OUTPUT_CAP = 64 * 1024          # bytes of a child's stdout+stderr kept
RESULT_CAP = 4 * 1024 * 1024    # bytes of a child's JSON result kept
FSIZE_CAP = 16 * 1024 * 1024    # largest file a child may write (in its own directory)
NOFILE = 256
PRELOAD = ("math", "cmath", "random", "re", "json", "copy", "heapq", "bisect", "itertools",
           "functools", "operator", "collections", "dataclasses", "typing", "string", "statistics",
           "numpy", "torch.nn", "torch.nn.functional", "traceback", "socket", "subprocess",
           "encodings.idna", "sqlite3", "landlock", "pyseccomp")

# Single files a child may read besides the trees it is given (Landlock).
OWN_READ = ("/dev/urandom", "/dev/random", "/dev/zero", "/proc/cpuinfo", "/proc/meminfo",
            "/proc/stat", "/proc/sys/kernel", "/proc/sys/vm/overcommit_memory")
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
CAP_DAC_READ_SEARCH = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 1 << 14, 1 << 18
SCRATCH_MB = 64                 # the tmpfs that holds every child's directory (one per worker)
LIBC = ctypes.CDLL(None, use_errno=True)

# What the child's messages say when a limit is hit; `sandbox` builds the result from these.
SECCOMP_DENY = ("socket", "socketpair", "fork", "vfork", "execve", "execveat", "ptrace",
                "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2",
                "pivot_root", "chroot", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
                "request_key", "kexec_load", "init_module", "finit_module", "delete_module",
                "io_uring_setup", "open_by_handle_at", "name_to_handle_at")


# ---------------------------------------------------------------- worker start-up (once)

def leave_network() -> str:
    """Move this worker (and so every child it forks) into a new, empty network namespace.
    Returns how: "netns", "userns+netns", or "" when the kernel refused both."""
    if LIBC.unshare(CLONE_NEWNET) == 0:
        return "netns"
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0 and LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        # Map our own ids to themselves, so files are still created as us (else EOVERFLOW).
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        return "userns+netns"
    return ""


def private_scratch(slot: int) -> tuple[str, str]:
    """A directory for the children's temporary directories. Where the kernel allows (root), it
    is a size-capped tmpfs mounted in this worker's own mount namespace, so that a child filling
    its directory fills at most SCRATCH_MB of memory, never the disk; the mount is invisible to
    the rest of the machine. Returns (path, "tmpfs") or (path, "") for a plain directory."""
    base = os.path.join(tempfile.gettempdir(), f"til-drills-{os.geteuid()}-{slot}")
    os.makedirs(base, mode=0o755, exist_ok=True)    # reused: each worker mounts its own tmpfs here
    if LIBC.unshare(CLONE_NEWNS) != 0:
        return base, ""
    if LIBC.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return base, ""
    opts = f"size={SCRATCH_MB}m,mode=0755".encode()
    if LIBC.mount(b"tmpfs", base.encode(), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) != 0:
        return base, ""
    return base, "tmpfs"


def load_grader(spec: str):
    module, _, func = spec.partition(":")
    mod = importlib.import_module(module)
    warm = getattr(mod, "warm", None)
    if callable(warm):
        warm()
    return getattr(mod, func or "grade")


def preload() -> None:
    import torch
    torch.set_num_threads(1)        # no OpenMP pool to inherit across fork; one core per child
    for name in PRELOAD:
        importlib.import_module(name)


# ---------------------------------------------------------------- the sandbox (in each child)

class Limits:
    def __init__(self, *, slot: int, cpu_s: float, mem_mb: int, uid_base: int,
                 read_paths: list[str], scratch: str | None = None) -> None:
        self.slot, self.cpu_s, self.mem_mb, self.scratch = slot, cpu_s, mem_mb, scratch
        self.uid = uid_base + slot if os.geteuid() == 0 else None
        self.read_paths = read_paths


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _landlock(tmp: str, read_paths: list[str]) -> None:
    import landlock
    from landlock import FSAccess
    ctypes.set_errno(0)   # the package reads errno after each call without clearing it first
    ruleset = landlock.Ruleset()                       # handles every filesystem access right
    read = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.EXECUTE
    for path in read_paths:
        if os.path.exists(path):
            ruleset.allow(path, rules=read)
    ruleset.allow("/dev/null", rules=FSAccess.READ_FILE | FSAccess.WRITE_FILE)
    for path in OWN_READ:
        if os.path.exists(path):
            ruleset.allow(path, rules=FSAccess.READ_FILE | (read if os.path.isdir(path) else 0))
    ruleset.allow(f"/proc/{os.getpid()}", rules=read)     # /proc/self, and nothing of other processes
    ruleset.allow(tmp)                                 # everything, inside its own directory only
    ruleset.apply()


def _seccomp() -> None:
    import pyseccomp as sc
    f = sc.SyscallFilter(sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in SECCOMP_DENY:
        f.add_rule(deny, name)
    # A thread is a clone with CLONE_THREAD; any other clone is a new process.
    f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")       # its flags live in memory: make libc use clone
    # Signals only to itself: without a uid of its own (not root) it would share the server's.
    me = os.getpid()
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        f.add_rule(deny, name, sc.Arg(0, sc.NE, me))
    for name in ("pidfd_open", "pidfd_send_signal", "pidfd_getfd"):
        f.add_rule(deny, name)
    f.load()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_uid(uid: int, *, keep_read_search: bool) -> None:
    """Become uid/gid `uid` with no groups. With `keep_read_search` (only under Landlock), keep
    the one capability CAP_DAC_READ_SEARCH: the Python installation may sit under a directory
    only root can enter (pyenv in /root, 0700), and a lazy import (in torch, the grader, or an
    `import fractions` in learner code) must still find its file. What may be read at all is
    then decided by the Landlock rules; writing stays with the uid (and Landlock)."""
    if keep_read_search:
        LIBC.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if keep_read_search:
        _capset(1 << CAP_DAC_READ_SEARCH)
        LIBC.prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)


def _capset(mask: int) -> None:
    """Effective = permitted = `mask` (capabilities 0-31), inheritable none."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)(_CapData(mask, mask, 0), _CapData(0, 0, 0))
    if LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _effective_caps() -> int:
    with open("/proc/self/status") as f:
        return next((int(line.split()[1], 16) for line in f if line.startswith("CapEff:")), 0)


def enter_sandbox(tmp: str, limits: Limits, out_fd: int, keep_fd: int) -> list[str]:
    """Apply every protection to the current (child) process; returns the names of those applied.
    Raises if one that the machine offers fails, so a child never runs half-confined."""
    applied = []
    os.setsid()
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)      # a too-large write fails with EFBIG instead
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, NOFILE * 4)

    cpu = max(1, int(round(limits.cpu_s)))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = _vm_size() + limits.mem_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_CAP, FSIZE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
    applied.append("rlimits")

    os.chdir(tmp)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, "TMPDIR": tmp})
    tempfile.tempdir = tmp
    applied.append("clean_env")

    if landlock_abi() > 0:
        _landlock(tmp, limits.read_paths)
        applied.append("landlock")
    if limits.uid is not None:
        _drop_uid(limits.uid, keep_read_search="landlock" in applied)
        applied.append("uid_drop")
    elif _effective_caps():                            # e.g. inside the worker's user namespace
        _capset(0)
        applied.append("caps_dropped")
    if seccomp_available():
        _seccomp()
        applied.append("seccomp")
    return applied


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none (or the package is missing)."""
    try:
        import landlock
        ctypes.set_errno(0)   # (see _landlock) a stale errno would read as "no Landlock"
        return int(landlock.landlock_abi_version())
    except Exception:  # noqa: BLE001 - not built in, disabled at boot, or no package: no Landlock
        return 0


def seccomp_available() -> bool:
    try:
        import pyseccomp
        pyseccomp.get_api()
        return True
    except Exception:  # noqa: BLE001 - no libseccomp on this system
        return False


# ---------------------------------------------------------------- one job

def _child(tmp: str, limits: Limits, out_w: int, res_w: int, run) -> None:
    """In the forked child: enter the sandbox, run, write the JSON result to res_w, exit."""
    code = 1
    try:
        payload = {"applied": enter_sandbox(tmp, limits, out_w, res_w)}
        try:
            payload["result"] = run()
        except MemoryError:
            payload["error"] = "MemoryError"
        except SystemExit as exc:
            payload["error"] = f"SystemExit: {exc.code}"
        except BaseException as exc:  # noqa: BLE001 - report anything the run raised
            payload["error"] = f"{type(exc).__name__}: {exc}"[:2000]
            payload["traceback"] = traceback.format_exc()[-4000:]
        try:
            data = json.dumps(payload).encode()
        except (TypeError, ValueError) as exc:
            data = json.dumps({"error": f"result is not JSON: {exc}"[:500]}).encode()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001, S110 - the learner may have closed or replaced them
            pass
        view = memoryview(data)
        while view:
            view = view[os.write(res_w, view):]
        code = 0
    except BaseException:  # noqa: BLE001 - a child never returns into the worker's loop
        try:
            os.write(2, traceback.format_exc()[-2000:].encode())
        except Exception:  # noqa: BLE001, S110
            pass
    finally:
        os._exit(code)


def run_in_child(run, *, limits: Limits, wall_s: float) -> dict:
    """Fork a child that runs `run()` inside the sandbox; watch it. Returns
    `{"payload", "output", "output_bytes", "status", "cpu_s", "wall_s", "timed_out"}`."""
    tmp = tempfile.mkdtemp(prefix="job-", dir=limits.scratch)
    if limits.uid is not None:
        os.chown(tmp, limits.uid, limits.uid)
    os.chmod(tmp, 0o700)
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    t0 = time.monotonic()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(res_r)
        _child(tmp, limits, out_w, res_w, run)
    os.close(out_w)
    os.close(res_w)
    output, output_bytes, result = bytearray(), 0, bytearray()
    open_fds = {out_r, res_r}
    deadline = t0 + wall_s
    timed_out = False
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                elif fd == out_r:
                    output_bytes += len(chunk)
                    if len(output) < OUTPUT_CAP:
                        output += chunk[:OUTPUT_CAP - len(output)]
                elif len(result) <= RESULT_CAP:
                    result += chunk
        if timed_out:
            _kill_group(pid)
        status, usage = _reap(pid, deadline + 2.0)
    finally:
        os.close(out_r)
        os.close(res_r)
        shutil.rmtree(tmp, ignore_errors=True)
    payload = None
    if result and len(result) <= RESULT_CAP:
        try:
            payload = json.loads(result)
        except ValueError:
            payload = None
    elif len(result) > RESULT_CAP:
        payload = {"error": "ResultTooLarge"}
    return {"payload": payload, "output": output.decode("utf-8", "replace"),
            "output_bytes": output_bytes, "status": status,
            "cpu_s": usage.ru_utime + usage.ru_stime if usage else None,
            "wall_s": time.monotonic() - t0, "timed_out": timed_out}


def _kill_group(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except ProcessLookupError:
            pass


def _reap(pid: int, deadline: float):
    """waitpid with a deadline; the child is killed if it has not exited by then."""
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage
        if time.monotonic() > deadline:
            _kill_group(pid)
            _, status, usage = os.wait4(pid, 0)
            return status, usage
        time.sleep(0.002)


# ---------------------------------------------------------------- the probe: what really holds

def probe(limits: Limits, network: str, scratch: str) -> dict:
    """Fork a child into the sandbox and test each protection by trying what it forbids."""
    canary = tempfile.NamedTemporaryFile(prefix="til-canary-", delete=False)
    canary.close()
    os.chmod(canary.name, 0o666)                       # writable by anyone: only Landlock stops it

    def tests() -> dict:
        import socket
        report = {}
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            report["socket_refused"] = False
        except OSError:
            report["socket_refused"] = True
        try:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            report["fork_refused"] = False
        except OSError:
            report["fork_refused"] = True
        try:
            with open(canary.name, "w") as f:
                f.write("x")
            report["outside_write_refused"] = False
        except OSError:
            report["outside_write_refused"] = True
        report["uid"] = os.getuid()
        report["net_ifaces_up"] = [line.split(":")[0].strip()
                                   for line in open("/proc/net/dev").readlines()[2:]]
        with open("/proc/self/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        report["seccomp_mode"] = int(status.get("Seccomp", "0").strip())
        report["cap_eff"] = status.get("CapEff", "").strip()
        return report

    try:
        res = run_in_child(tests, limits=limits, wall_s=30)
    finally:
        os.unlink(canary.name)
    payload = res["payload"] or {}
    found = payload.get("result") or {}
    applied = payload.get("applied") or []
    return {
        "seccomp": bool(found.get("socket_refused")) and found.get("seccomp_mode") == 2,
        "netns": network,
        "landlock": landlock_abi() if "landlock" in applied and found.get("outside_write_refused") else 0,
        "uid_drop": found.get("uid") if "uid_drop" in applied and found.get("uid") else None,
        "capabilities_kept": ["CAP_DAC_READ_SEARCH"] if found.get("cap_eff") == f"{1 << CAP_DAC_READ_SEARCH:016x}"
        else ([] if found.get("cap_eff", "").strip("0") == "" else [f"CapEff={found.get('cap_eff')}"]),
        "no_fork": bool(found.get("fork_refused")),
        "no_network": bool(found.get("socket_refused")) or bool(network),
        "scratch": f"tmpfs {SCRATCH_MB} MB" if scratch else "",
        "outside_write_refused": bool(found.get("outside_write_refused")),
        "rlimits": ["RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
                    "RLIMIT_CORE"] if "rlimits" in applied else [],
        "applied": applied,
        "probe_error": payload.get("error") or (None if payload else res["output"][-500:]),
        "running_as_root": os.geteuid() == 0,
    }


# ---------------------------------------------------------------- the loop

def serve(args: argparse.Namespace) -> int:
    proto = os.fdopen(os.dup(1), "wb", buffering=0)   # answers go here; fd 1 itself → stderr
    os.dup2(2, 1)
    preload()
    grade = load_grader(args.grader)
    # After the imports: an unprivileged user namespace (the non-root fallback) would hide files
    # that only a capability let us read; no learner code has run yet either way.
    network = leave_network()
    scratch, scratch_kind = private_scratch(args.slot)
    read_paths = json.loads(args.read_paths)
    base = Limits(slot=args.slot, cpu_s=args.cpu_s, mem_mb=args.mem_mb, uid_base=args.uid_base,
                  read_paths=read_paths, scratch=scratch)
    gc.collect()
    gc.freeze()          # children's collections skip everything loaded so far: fewer COW copies
    caps = probe(base, network, scratch_kind)
    send(proto, {"ready": True, "pid": os.getpid(), "capabilities": caps})
    for line in sys.stdin.buffer:
        job = json.loads(line)
        limits = Limits(slot=args.slot, cpu_s=float(job.get("cpu_s") or args.cpu_s),
                        mem_mb=int(job.get("mem_mb") or args.mem_mb), uid_base=args.uid_base,
                        read_paths=read_paths, scratch=scratch)
        drill, source = job["drill"], job["source"]
        res = run_in_child(functools.partial(grade, drill, source), limits=limits,
                           wall_s=float(job.get("wall_s") or 2 * limits.cpu_s + 5))
        res["cpu_limit_s"] = max(1, int(round(limits.cpu_s)))
        res["mem_mb"] = limits.mem_mb
        res["status_text"] = _status_text(res["status"])
        res["signal"] = os.WTERMSIG(res["status"]) if os.WIFSIGNALED(res["status"]) else None
        send(proto, res)
    return 0


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"


def send(proto, obj: dict) -> None:
    proto.write(json.dumps(obj).encode() + b"\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m drills.worker")
    ap.add_argument("--slot", type=int, default=0)
    ap.add_argument("--grader", default="drills.grade:grade")
    ap.add_argument("--cpu-s", type=float, default=10.0)
    ap.add_argument("--mem-mb", type=int, default=512)
    ap.add_argument("--uid-base", type=int, default=61000)
    ap.add_argument("--read-paths", default="[]", help="JSON list of trees a child may read")
    return serve(ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
