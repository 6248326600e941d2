"""Cold start: from `streamlit run app.py` (a fresh server process) to a usable home page in a
real browser (Debian's chromium via Playwright): the home page's title, its entry cards and the
end of its script run. Several fresh starts; the median is `cold_first_page_s`, reported with the
machine's load average (the figure moves with load).

Also `cold_import_s`: `python -c "import app modules"` time of what the home page imports, as a
breakdown next to the browser figure (python -X importtime gives the detail).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# TIL_COLD_ROOT=/path/to/another/checkout measures that tree instead (before/after comparisons).
ROOT = Path(os.environ.get("TIL_COLD_ROOT") or Path(__file__).resolve().parents[1])
CHROMIUM = "/usr/bin/chromium"

# What a usable home page shows: its title and the "where to start" page links.
_HOME_READY = """() => document.querySelector('[data-testid="stMain"] h1')
    && document.querySelectorAll('[data-testid="stMain"] [data-testid="stPageLink"]').length >= 5
    && !document.querySelector('[data-testid="stStatusWidget"]')"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_start(browser, tmp: Path) -> tuple[float, float]:
    """(seconds to a usable home page, seconds to the first HTTP answer) from process start."""
    import urllib.request

    port = _free_port()
    env = {**os.environ, "TIL_DB": str(tmp / f"cold-{port}.sqlite3")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1):
                    break
            except OSError:
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError("streamlit did not start") from None
                time.sleep(0.05)
        http_s = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/?lang=en")
        page.wait_for_function(_HOME_READY, timeout=60000, polling=50)
        ready_s = time.perf_counter() - t0
        page.close()
        return ready_s, http_s
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _import_s() -> float:
    """A fresh interpreter importing what app.py and the home page import."""
    code = ("import time; t=time.perf_counter(); import streamlit, ui.shell, ui.nav, ui.profile, "
            "study.stats, study.scheduler, questions.schema; print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> dict:
    import tempfile

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {}
    n = 2 if quick else 5
    ready, http = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(n):
                r, h = _one_start(browser, Path(tmp))
                ready.append(r)
                http.append(h)
        finally:
            browser.close()
    return {
        "cold_first_page_s": round(statistics.median(ready), 2),
        "cold_first_page_runs_s": [round(x, 2) for x in ready],
        "cold_http_s": round(statistics.median(http), 2),
        "cold_import_s": round(_import_s(), 2),
        "cold_loadavg_1m": round(os.getloadavg()[0], 1),
    }


def rows(result: dict) -> list[tuple[str, str]]:
    if not result:
        return [("cold start", f"skipped ({CHROMIUM} missing)")]
    return [
        ("first usable home page (median)", f"{result['cold_first_page_s']:.2f} s  runs {result['cold_first_page_runs_s']}"),
        ("server answers HTTP (median)", f"{result['cold_http_s']:.2f} s"),
        ("imports of app + home (fresh python)", f"{result['cold_import_s']:.2f} s"),
        ("load average (1 min) at the end", f"{result['cold_loadavg_1m']}"),
    ]


if __name__ == "__main__":
    res = run(quick="--quick" in sys.argv)
    for label, value in rows(res):
        print(f"{label:<40} {value}")
