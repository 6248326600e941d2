"""Load test: N concurrent real Streamlit sessions against a server on loopback.

    python -m bench.load --sessions 25 --seconds 120 --spawn [--json]
    python -m bench.load --sessions 10 --seconds 60 --url http://127.0.0.1:8501

Each session is what a browser tab does, minus the drawing: it opens the websocket at
`/_stcore/stream` and speaks Streamlit's own protocol (BackMsg / ForwardMsg protobufs from the
installed `streamlit` package). It asks for a page (`BackMsg.rerun_script` with a
`ClientState`), reads the widgets of that run from the ForwardMsg deltas (their ids and
options), and then, after a think time, changes one of them (slider, select box, radio,
segmented control, toggle, number input) by sending a rerun with the widget's new value,
now and then moving to another demo page. One session in four (the 2nd, 6th, ...) studies flashcards instead:
it creates its own learner, then reveals the card and rates it (button clicks are trigger
values), which writes reviews to the progress store.

Latency of an interaction = from sending the BackMsg to the ForwardMsg `script_finished`
that ends the run (a run the script restarts with st.rerun counts until the final finish).
Errors: exceptions in the deltas, disconnects, timeouts, failed connects (the app's own
`st.error` messages are counted apart: some demos show one on purpose).
Memory: the server process's RSS (/proc/<pid>/status VmRSS) sampled over time; with `--url`
the server's pid is found from its listening port.

Bounds: at most 100 sessions and 900 seconds, loopback addresses only (anything else is
refused before a connection is made).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[1]
MAX_SESSIONS = 100
MAX_SECONDS = 900
DEMO_PAGES = ("attention", "masks", "positional_encoding", "norms", "residuals", "ffn_cost",
              "training_details", "tokenization", "shapes", "generation", "train_lab")
STUDY_PAGE = "flashcards"
# --pages narrows a run to some pages (e.g. to find which page's caches grow); main() sets these
ACTIVE_DEMO_PAGES: tuple[str, ...] = DEMO_PAGES
STUDY_ON = True
WIDGET_KINDS = ("slider", "selectbox", "radio", "button_group", "checkbox", "number_input")  # changed
OTHER_WIDGETS = ("button", "text_input", "text_area", "multiselect")  # tracked, never changed at random
SKIP_KEYS = ("_lang_pick", "_learner", "fc:newlim")  # language, learner picker, store settings
FINAL = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


class Refused(ValueError):
    """An argument outside the tool's hard bounds (sessions, seconds, non-loopback URL)."""


# ---- bounds -------------------------------------------------------------------------------

def check_loopback(url: str) -> tuple[str, int]:
    """(host, port) of a loopback http(s)/ws(s) URL; raises Refused for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise Refused(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve {host!r}: {exc}") from exc
    bad = sorted(a for a in addrs if not ip_address(a.split("%")[0]).is_loopback)
    if not addrs or bad:
        raise Refused(f"{host!r} is not a loopback address ({', '.join(bad)}); this tool only loads a local server")
    return host, port


def check_bounds(sessions: int, seconds: float) -> None:
    if not 1 <= sessions <= MAX_SESSIONS:
        raise Refused(f"--sessions must be between 1 and {MAX_SESSIONS} (got {sessions})")
    if not 1 <= seconds <= MAX_SECONDS:
        raise Refused(f"--seconds must be between 1 and {MAX_SECONDS} (got {seconds})")


# ---- the server process: pid, RSS, CPU ----------------------------------------------------

def pid_listening_on(port: int) -> int | None:
    """Pid of the local process listening on TCP `port` (via /proc/net/tcp*), or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    if not inodes:
        return None
    targets = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                        return int(pid)
    return None


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def spawned_server(server_args: list[str], env: dict[str, str], db: str | None = None):
    """`streamlit run app.py` on a free loopback port (progress store `db`, else a new temp
    file, unless TIL_DB is in `env`); yields (base URL, pid)."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="til-load-")
    full_env = {**os.environ, "TIL_DB": db or os.path.join(tmp, "progress.sqlite3"), **env}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true"]
    for arg in server_args:
        name, _, value = arg.partition("=")
        cmd += [f"--{name.lstrip('-')}", value]
    log = open(os.path.join(tmp, "server.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the server did not start; see {log.name}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---- one session --------------------------------------------------------------------------

@dataclass
class Widget:
    id: str
    kind: str
    proto: object
    in_main: bool

    @property
    def key(self) -> str:
        parts = self.id.split("-", 2)
        return parts[2] if self.id.startswith("$$ID-") and len(parts) == 3 else ""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> ms
    by_page: dict[str, list[float]] = field(default_factory=dict)  # page -> ms (interactions)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    ratings: int = 0
    error_messages: dict[str, int] = field(default_factory=dict)  # st.error texts shown by the app

    def add(self, kind: str, ms: float, page: str, what: str) -> None:
        self.latencies.setdefault(kind, []).append(ms)
        if kind != "first_load":
            self.by_page.setdefault(page, []).append(ms)
        self.slowest = sorted([*self.slowest, (round(ms, 1), f"{page}: {kind} {what}")], reverse=True)[:10]

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.examples) < 20:
            self.examples.append(f"{kind}: {detail}"[:300])


def _value_text(ws: WidgetState) -> str:
    kind = ws.WhichOneof("value")
    value = getattr(ws, kind) if kind else None
    return ",".join(map(str, value.data))[:40] if hasattr(value, "data") else str(value)[:40]


class RunFailed(Exception):
    pass


class Session:
    """One simulated browser tab."""

    def __init__(self, ws_url: str, index: int, stats: Stats, rng: random.Random, timeout: float,
                 distinct: int = 0) -> None:
        self.ws_url, self.index, self.stats, self.rng, self.timeout = ws_url, index, stats, rng, timeout
        self.distinct = distinct  # > 0: each widget only takes its first `distinct` values (caches saturate)
        self.ws = None
        self.query = "lang=en"
        self.page_hashes: dict[str, str] = {}
        self.widgets: dict[str, Widget] = {}
        self.values: dict[str, WidgetState] = {}
        self.page = ""
        self.page_hash = ""

    async def open(self) -> None:
        self.ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout,
                                ping_interval=20, ping_timeout=60)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    # -- protocol
    async def rerun(self, kind: str, *, page: str | None = None, set_values: list[WidgetState] = ()) -> float:
        """Send one rerun (optionally to another page, with changed widget values) and wait for
        the run's final script_finished; returns the latency in ms and records it."""
        for ws in set_values:
            if not ws.HasField("trigger_value"):
                self.values[ws.id] = ws
        states = [v for wid, v in self.values.items() if wid in self.widgets]
        states += [ws for ws in set_values if ws.HasField("trigger_value")]
        cs = ClientState(query_string=self.query, widget_states=WidgetStates(widgets=states),
                         context_info=ContextInfo(timezone="UTC", timezone_offset=0, locale="en-US",
                                                  url=self.ws_url.replace("ws://", "http://").replace(
                                                      "/_stcore/stream", "/" + (page or self.page))))
        if page is not None:  # go to a page: by its hash once the navigation is known, else by URL path
            if page in self.page_hashes:
                cs.page_script_hash = self.page_hashes[page]
                cs.query_string = ""  # the frontend drops the query on a page change (keeps embed params)
            else:
                cs.page_name = page
            self.page = page
        else:  # a rerun of the current page, as the frontend sends it
            cs.page_script_hash = self.page_hash
        msg = BackMsg(rerun_script=cs)
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await self._until_finished(t0 + self.timeout)
        ms = (time.perf_counter() - t0) * 1000
        self.values = {wid: v for wid, v in self.values.items() if wid in self.widgets}
        what = ", ".join(f"{ws.id.split('-', 2)[-1]}={_value_text(ws)}" for ws in set_values)
        self.stats.add(kind, ms, self.page, what)
        return ms

    async def _until_finished(self, deadline: float) -> None:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError
            raw = await asyncio.wait_for(self.ws.recv(), left)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "new_session":  # a script run starts: its elements replace the last run's
                self.widgets = {}
                self.page_hash = fm.new_session.page_script_hash
            elif kind == "delta":
                self._on_delta(fm)
            elif kind == "navigation":
                self.page_hashes = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash  # the page st.navigation resolved
            elif kind == "page_info_changed":
                self.query = fm.page_info_changed.query_string
            elif kind == "script_finished" and fm.script_finished in FINAL:
                return

    def _on_delta(self, fm: ForwardMsg) -> None:
        delta = fm.delta
        if delta.WhichOneof("type") != "new_element":
            return
        el = delta.new_element
        etype = el.WhichOneof("type")
        if etype == "exception":
            if not el.exception.is_warning:
                self.stats.error("exception", f"{self.page}: {el.exception.type}: {el.exception.message}")
            return
        if etype == "alert" and el.alert.format == Alert.ERROR:  # the app's own message: counted, not an error
            self.stats.error_messages[el.alert.body[:80]] = self.stats.error_messages.get(el.alert.body[:80], 0) + 1
            return
        if etype in WIDGET_KINDS or etype in OTHER_WIDGETS:
            proto = getattr(el, etype)
            path = list(fm.metadata.delta_path)
            self.widgets[proto.id] = Widget(proto.id, etype, proto, in_main=bool(path) and path[0] == 0)

    # -- behaviour
    def _changeable(self) -> list[Widget]:
        out = []
        for w in self.widgets.values():
            p = w.proto
            if w.kind in OTHER_WIDGETS or not w.in_main or getattr(p, "form_id", "") or getattr(p, "disabled", False):
                continue
            if any(w.key.startswith(k) for k in SKIP_KEYS):
                continue
            if w.kind == "slider" and p.type == Slider.SELECT_SLIDER and len(p.options) < 2:
                continue
            if w.kind in ("selectbox", "radio", "button_group") and len(p.options) < 2:
                continue
            out.append(w)
        return out

    def new_value(self, w: Widget) -> WidgetState:
        """A different, valid value for widget `w`, as the frontend would send it."""
        p, rng, k = w.proto, self.rng, self.distinct

        def pick(n: int) -> int:  # an index in range(n), or in its first k values with --distinct k
            return rng.randrange(min(n, k) if k else n)

        st = WidgetState(id=w.id)
        if w.kind == "slider":
            n = max(1, len(p.default))
            if p.type == Slider.SELECT_SLIDER:
                picks = sorted({pick(len(p.options)) for _ in range(n)})
                picks = (picks * n)[:n]
                st.string_array_value.data.extend(p.options[i] for i in picks)
            else:
                step = p.step or 1
                count = int(round((p.max - p.min) / step))
                vals = sorted(p.min + step * (round(count * pick(k) / max(1, k - 1)) if k else pick(count + 1)) for _ in range(n))
                vals = [int(round(v)) if p.data_type == Slider.INT else round(v, 10) for v in vals]
                st.double_array_value.data.extend(vals)
        elif w.kind in ("selectbox", "radio"):
            st.string_value = p.options[pick(len(p.options))]
        elif w.kind == "button_group":
            st.string_array_value.data.append(p.options[pick(len(p.options))].content)
        elif w.kind == "checkbox":
            prev = self.values.get(w.id)
            st.bool_value = not (prev.bool_value if prev is not None else p.value)
        elif w.kind == "number_input":
            lo = p.min if p.has_min else p.value - 10 * (p.step or 1)
            hi = p.max if p.has_max else p.value + 10 * (p.step or 1)
            step = p.step or 1
            st.double_value = lo + step * pick(max(0, int((hi - lo) / step)) + 1)
        return st

    def button(self, key: str) -> Widget | None:
        return next((w for w in self.widgets.values() if w.kind == "button" and w.key == key), None)

    async def demo_step(self) -> None:
        others = [p for p in ACTIVE_DEMO_PAGES if p != self.page]
        options = self._changeable()
        if others and (self.rng.random() < 0.1 or not options):
            await self.rerun("navigate", page=self.rng.choice(others))
            return
        if not options:
            await self.rerun("rerun")
            return
        w = self.rng.choice(options)
        await self.rerun("widget", set_values=[self.new_value(w)])

    async def study_start(self, name: str) -> None:
        """Create this session's own learner (sidebar popover: name, then Create)."""
        box, create = None, self.button("_learner_create")
        for w in self.widgets.values():
            if w.key == "_learner_new":
                box = w
        if box is None or create is None:
            raise RunFailed("flashcards: learner form not found")
        await self.rerun("click", set_values=[WidgetState(id=box.id, string_value=name),
                                              WidgetState(id=create.id, trigger_value=True)])

    async def study_step(self) -> None:
        reveal = self.button("fc:reveal")
        if reveal is not None:
            await self.rerun("click", set_values=[WidgetState(id=reveal.id, trigger_value=True)])
            return
        rates = [self.button(f"fc:rate{i}") for i in (1, 2, 3, 4)]
        if all(rates):
            pick = self.rng.choices(rates, weights=(1, 2, 6, 2))[0]
            await self.rerun("click", set_values=[WidgetState(id=pick.id, trigger_value=True)])
            self.stats.ratings += 1
            return
        # nothing to review now (daily limit reached / cram round done): switch mode or topic
        options = self._changeable()
        if options:
            await self.rerun("widget", set_values=[self.new_value(self.rng.choice(options))])
        else:
            await self.rerun("rerun")


async def run_session(index: int, ws_url: str, stop_at: float, think: float, stats: Stats, seed: int,
                      timeout: float, run_tag: str, ready: list[int], settled: list[int], distinct: int = 0) -> None:
    rng = random.Random(seed * 1000 + index)
    study = STUDY_ON and (index % 4 == 1 or not ACTIVE_DEMO_PAGES)  # one in four studies
    s = Session(ws_url, index, stats, rng, timeout, distinct)
    try:
        await s.open()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is an error to report
        stats.error("connect", repr(exc))
        settled.append(index)
        return
    try:
        page = STUDY_PAGE if study else ACTIVE_DEMO_PAGES[index % len(ACTIVE_DEMO_PAGES)]
        await s.rerun("first_load", page=page)
        if study:
            await s.study_start(f"load-{run_tag}-{index}")
        ready.append(index)
        settled.append(index)
        while True:
            pause = think * rng.uniform(0.5, 1.5)
            if time.perf_counter() + pause >= stop_at:  # the tab stays open to the end, then closes
                await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
                break
            await asyncio.sleep(pause)
            await (s.study_step() if study else s.demo_step())
    except TimeoutError:
        stats.error("timeout", f"session {index} on {s.page}: no script_finished within {timeout:.0f} s")
    except ConnectionClosed as exc:
        stats.error("disconnect", f"session {index} on {s.page}: {exc!r}")
    except RunFailed as exc:
        stats.error("protocol", f"session {index}: {exc}")
    finally:
        if index not in settled:
            settled.append(index)
        await s.close()


# ---- the whole run ------------------------------------------------------------------------

def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 1)


def summary(xs: list[float], seconds: float) -> dict:
    return {"count": len(xs), "per_s": round(len(xs) / seconds, 2) if seconds else None,
            "p50_ms": pct(xs, 0.5), "p95_ms": pct(xs, 0.95), "p99_ms": pct(xs, 0.99),
            "max_ms": round(max(xs), 1) if xs else None,
            "mean_ms": round(statistics.fmean(xs), 1) if xs else None}


async def warm_up(ws_url: str, pages: list[str], timeout: float) -> None:
    """Visit each page once (one session), so first-use loads (models, bank, caches) are not
    counted as per-session memory or in the interaction latencies."""
    stats = Stats()
    s = Session(ws_url, -1, stats, random.Random(0), timeout)
    await s.open()
    try:
        for page in pages:
            await s.rerun("warm", page=page)
            options = s._changeable()
            if options:
                await s.rerun("warm", set_values=[s.new_value(options[0])])
    finally:
        await s.close()


def _sum(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else sum(values)


async def load(targets: list[tuple[str, int | None]], sessions: int, seconds: float, think: float, ramp: float,
               seed: int, timeout: float, sample_every: float, warm: bool, distinct: int = 0) -> dict:
    """Run the sessions against `targets` [(websocket URL, server pid)]: session i sticks to
    target i % len(targets), as a sticky load balancer would place it. RSS and CPU are summed
    over the targets' processes."""
    pids = [pid for _, pid in targets]
    have_pids = all(pids)

    def rss_all() -> float | None:
        return _sum([rss_mb(p) for p in pids]) if have_pids else None

    def cpu_all() -> float | None:
        return _sum([cpu_seconds(p) for p in pids]) if have_pids else None

    if warm:
        for ws_url, _ in targets:
            await warm_up(ws_url, [*DEMO_PAGES, STUDY_PAGE], timeout)
    stats = Stats()
    samples: list[tuple[float, float]] = []
    t_start = time.perf_counter()
    cpu0, client0, load0 = cpu_all(), time.process_time(), os.getloadavg()
    baseline = rss_all()
    stop_at = t_start + seconds
    ready: list[int] = []
    settled: list[int] = []
    ramp_done: dict[str, float] = {}
    tag = f"{seed}-{int(time.time())}"

    async def sampler() -> None:
        while True:
            mb = rss_all()
            if mb is not None:
                samples.append((round(time.perf_counter() - t_start, 1), round(mb, 1)))
                if len(settled) == sessions and "t" not in ramp_done:
                    ramp_done["t"] = round(time.perf_counter() - t_start, 1)
                    ramp_done["mb"] = mb
            await asyncio.sleep(sample_every)

    async def start(i: int) -> None:
        await asyncio.sleep(ramp * i / max(1, sessions))
        ws_url = targets[i % len(targets)][0]
        await run_session(i, ws_url, stop_at, think, stats, seed, timeout, tag, ready, settled, distinct)

    sampler_task = asyncio.create_task(sampler())
    await asyncio.gather(*(start(i) for i in range(sessions)))
    elapsed = time.perf_counter() - t_start
    end_mb = rss_all()
    sampler_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler_task
    if end_mb is not None:
        samples.append((round(elapsed, 1), round(end_mb, 1)))
    cpu1 = cpu_all()

    interactions = [ms for k, xs in stats.latencies.items() if k != "first_load" for ms in xs]
    mbs = [mb for _, mb in samples]
    mid = samples[len(samples) // 2][1] if samples else None
    memory = {
        "baseline_mb": round(baseline, 1) if baseline else None,
        "after_ramp_mb": round(ramp_done["mb"], 1) if ramp_done else None,
        "after_ramp_s": ramp_done.get("t"),
        "start_mb": samples[0][1] if samples else None,
        "middle_mb": mid,
        "end_mb": round(end_mb, 1) if end_mb else None,
        "peak_mb": max(mbs) if mbs else None,
        "per_session_mb": round((ramp_done["mb"] - baseline) / sessions, 2) if ramp_done and baseline else None,
        "growth_after_ramp_mb": round(end_mb - ramp_done["mb"], 1) if ramp_done and end_mb else None,
        "samples": samples,
    }
    return {
        "sessions": sessions, "seconds": seconds, "elapsed_s": round(elapsed, 1), "think_s": think,
        "ramp_s": ramp, "distinct": distinct, "urls": [u for u, _ in targets], "server_pids": pids, "processes": len(targets),
        "sessions_ready": len(ready),
        "interactions": summary(interactions, elapsed),
        "by_kind": {k: summary(v, elapsed) for k, v in sorted(stats.latencies.items())},
        "by_page": {k: summary(v, elapsed) for k, v in sorted(stats.by_page.items())},
        "slowest": stats.slowest,
        "ratings": stats.ratings,
        "errors": {"total": sum(stats.errors.values()), **stats.errors, "examples": stats.examples},
        "app_error_messages": stats.error_messages,
        "memory": memory,
        "server_cpu_s": round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 is not None else None,
        "server_cpu_util": round((cpu1 - cpu0) / elapsed, 2) if cpu0 is not None and cpu1 is not None else None,
        "client_cpu_s": round(time.process_time() - client0, 1),
        "loadavg_start": [round(x, 2) for x in load0],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }


def print_human(r: dict) -> None:
    i, m, e = r["interactions"], r["memory"], r["errors"]
    print(f"{r['sessions']} sessions, {r['elapsed_s']} s, think {r['think_s']} s; "
          f"{r['sessions_ready']} sessions loaded their page; {r['processes']} server process(es) {r['server_pids']}")
    print(f"{'kind':<12}{'count':>7}{'per_s':>8}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  (ms)")
    for k, v in [("ALL", i), *r["by_kind"].items()]:
        print(f"{k:<12}{v['count']:>7}{v['per_s'] or 0:>8}{v['p50_ms'] or 0:>9}{v['p95_ms'] or 0:>9}"
              f"{v['p99_ms'] or 0:>9}{v['max_ms'] or 0:>9}")
    print("by page:")
    for k, v in r["by_page"].items():
        print(f"  {k:<22}{v['count']:>6}{v['p50_ms'] or 0:>9}{v['p95_ms'] or 0:>9}{v['max_ms'] or 0:>9}")
    print("slowest:", "; ".join(f"{ms} ms {what}" for ms, what in r["slowest"][:5]))
    print(f"errors: {e['total']} " + ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("total", "examples")))
    for ex in e["examples"][:5]:
        print(f"  - {ex}")
    print(f"server RSS MB: baseline {m['baseline_mb']}, after ramp {m['after_ramp_mb']}, "
          f"middle {m['middle_mb']}, end {m['end_mb']}, peak {m['peak_mb']}; per session {m['per_session_mb']}")
    print(f"server CPU {r['server_cpu_s']} s ({r['server_cpu_util']} cores); load tool CPU {r['client_cpu_s']} s; "
          f"loadavg {r['loadavg_start']} -> {r['loadavg_end']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10, help=f"concurrent sessions (1..{MAX_SESSIONS})")
    ap.add_argument("--seconds", type=float, default=60, help=f"duration (1..{MAX_SECONDS})")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", action="append", help="a running server on loopback, e.g. http://127.0.0.1:8501 "
                       "(repeat for several processes: sessions are spread over them, each sticking to one)")
    where.add_argument("--spawn", action="store_true", help="start fresh server(s) for the run")
    ap.add_argument("--processes", type=int, default=1,
                    help="with --spawn: app processes (1..4) sharing one progress store; sessions stick to one")
    ap.add_argument("--server-arg", action="append", default=[], metavar="OPTION=VALUE",
                    help="with --spawn: a streamlit option, e.g. runner.postScriptGC=true")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="with --spawn: server env")
    ap.add_argument("--pid", type=int, action="append", help="server pid(s) for RSS/CPU (default: found from the port)")
    ap.add_argument("--think", type=float, default=2.0,
                    help="mean think time between a session's interactions, s (uniform 0.5x..1.5x)")
    ap.add_argument("--ramp", type=float, default=None, help="spread session starts over this many s")
    ap.add_argument("--timeout", type=float, default=30.0, help="a run without script_finished after this is an error")
    ap.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling period, s")
    ap.add_argument("--no-warmup", action="store_true", help="skip visiting each page once before the run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--distinct", type=int, default=0, metavar="K",
                    help="each widget takes only K values (0: any value); K=2 saturates the caches fast, "
                         "so RSS growth that remains is a leak, not cache filling")
    ap.add_argument("--pages", default="", metavar="P1,P2",
                    help="only these pages (demo page ids and/or flashcards); default: all")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args(argv)
    global ACTIVE_DEMO_PAGES, STUDY_ON
    if args.pages:
        wanted = [p.strip() for p in args.pages.split(",") if p.strip()]
        unknown = sorted(set(wanted) - set(DEMO_PAGES) - {STUDY_PAGE})
        if unknown:
            print(f"refused: unknown page(s) {', '.join(unknown)}; known: {', '.join(DEMO_PAGES)}, {STUDY_PAGE}",
                  file=sys.stderr)
            return 2
        ACTIVE_DEMO_PAGES = tuple(p for p in DEMO_PAGES if p in wanted)
        STUDY_ON = STUDY_PAGE in wanted
    try:
        check_bounds(args.sessions, args.seconds)
        if args.think < 0.1:
            raise Refused("--think must be at least 0.1 s")
        if not 1 <= args.processes <= 4:
            raise Refused("--processes must be between 1 and 4")
        for url in args.url or ():
            check_loopback(url)
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    ramp = args.ramp if args.ramp is not None else min(10.0, args.seconds / 4)

    def go(servers: list[tuple[str, int | None]]) -> dict:
        targets = []
        for base, pid in servers:
            host, port = check_loopback(base)
            ws_url = f"ws://{host if ':' not in host else f'[{host}]'}:{port}/_stcore/stream"
            targets.append((ws_url, pid or pid_listening_on(port)))
        r = asyncio.run(load(targets, args.sessions, args.seconds, args.think, ramp, args.seed,
                             args.timeout, args.sample_every, not args.no_warmup, args.distinct))
        r["server_args"] = args.server_arg
        r["env"] = args.env
        return r

    if args.spawn:
        env = dict(kv.partition("=")[::2] for kv in args.env)
        db = os.path.join(tempfile.mkdtemp(prefix="til-load-db-"), "progress.sqlite3")
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(spawned_server(args.server_arg, env, db)) for _ in range(args.processes)]
            result = go(servers)
    else:
        pids = args.pid or []
        result = go([(url, pids[i] if i < len(pids) else None) for i, url in enumerate(args.url)])
    print_human(result)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
