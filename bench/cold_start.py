"""Cold start: from `streamlit run app.py` (a fresh server process) to a usable home page in a
real browser (Debian's chromium via Playwright): the home page's title, its entry cards and the
end of its script run. The browser opens the bare address, as a newcomer does; the language
comes from its locale. Several fresh starts; the median is `cold_first_page_s` (an English
browser) and `cold_first_page_zh_s` (a Chinese one, zh-CN: the page opens in Chinese), reported
with the machine's load average (the figure moves with load). `cold_floor_s`: the same for a
bare Streamlit app of the same shape (st.navigation, a title, five page links; our config),
alternated with ours: what this machine and Streamlit cost before any of our code.

Where the time goes, per stage (medians, seconds from process start): `cold_http_s` (the server
answers: Python + Streamlit's import and runtime start), `cold_js_loaded_s` (the browser has
Streamlit's own page and scripts: their parse is the browser's work, not ours),
`cold_first_content_s` (our home page's title is drawn: the websocket and the first part of the
first script run). `cold_second_visit_s` is a second visitor's tab on the same server (modules,
bank and store already loaded). `cold_import_s`: `python -c "import app modules"` time of what
the home page imports (python -X importtime gives the detail).
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


_FIRST_CONTENT = """() => !!document.querySelector('[data-testid="stMain"] h1')"""


# The framework's floor on this machine: a bare Streamlit app of the same shape (st.navigation, a
# title, five page links), with our .streamlit/config.toml, started and opened the same way.
_FLOOR_APP = """import streamlit as st
st.navigation([st.Page("pages/home.py", title="Home", default=True)]).run()
"""
_FLOOR_HOME = """import streamlit as st
st.title("Home")
for i in range(5):
    st.page_link("pages/home.py", label=f"Link {i}")
"""


def _floor_app(tmp: Path) -> Path:
    root = tmp / "floor"
    (root / "pages").mkdir(parents=True)
    (root / ".streamlit").mkdir()
    (root / ".streamlit" / "config.toml").write_text((ROOT / ".streamlit" / "config.toml").read_text())
    (root / "app.py").write_text(_FLOOR_APP)
    (root / "pages" / "home.py").write_text(_FLOOR_HOME)
    return root


def _one_start(browser, tmp: Path, lang: str = "en", root: Path = ROOT, second_visit: bool = False) -> dict[str, float]:
    """Seconds from process start to each stage of a newcomer's first page:
    http (the server answers), js (the browser has loaded Streamlit's own page and scripts),
    content (our home page's title is drawn), ready (the whole home page, script run finished);
    with `second_visit`, then a second fresh tab on the same, now warm, server (from its goto)."""
    import urllib.request

    port = _free_port()
    env = {**os.environ, "TIL_DB": str(tmp / f"cold-{port}.sqlite3")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
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
        out = {"http": time.perf_counter() - t0}
        # a newcomer opens the bare address; the page language comes from the browser's locale
        locale = {"en": "en-US", "zh": "zh-CN"}[lang]
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale=locale)
        page.goto(base, wait_until="load")
        out["js"] = time.perf_counter() - t0
        page.wait_for_function(_FIRST_CONTENT, timeout=60000, polling=50)
        out["content"] = time.perf_counter() - t0
        page.wait_for_function(_HOME_READY, timeout=60000, polling=50)
        out["ready"] = time.perf_counter() - t0
        page.close()
        if second_visit:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale=locale)
            t1 = time.perf_counter()
            page.goto(base)
            page.wait_for_function(_HOME_READY, timeout=60000, polling=50)
            out["second_visit"] = time.perf_counter() - t1
            page.close()
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _import_s() -> float:
    """A fresh interpreter running the import statements of app.py and pages/home.py (their
    module-level ones: what the first page imports before it runs anything)."""
    import ast

    lines = []
    for rel in ("app.py", "pages/home.py"):
        source = (ROOT / rel).read_text(encoding="utf-8")
        lines += [ast.get_source_segment(source, node) for node in ast.parse(source).body
                  if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", "") != "__future__"]
    code = "import time; t=time.perf_counter()\n" + "\n".join(lines) + "\nprint(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> dict:
    import tempfile

    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {}
    n = 2 if quick else 5
    runs: list[dict[str, float]] = []
    runs_zh: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        floor_root = _floor_app(Path(tmp))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(n):  # alternated, so that all three see the same machine
                runs.append(_one_start(browser, Path(tmp), "en", second_visit=True))
                runs_zh.append(_one_start(browser, Path(tmp), "zh"))
                floor.append(_one_start(browser, Path(tmp), "en", root=floor_root))
        finally:
            browser.close()

    def med(key: str, of: list[dict[str, float]] = runs) -> float:
        return round(statistics.median(r[key] for r in of), 2)

    return {
        "cold_first_page_s": med("ready"),
        "cold_first_page_runs_s": [round(r["ready"], 2) for r in runs],
        "cold_first_page_zh_s": med("ready", runs_zh),
        "cold_first_page_zh_runs_s": [round(r["ready"], 2) for r in runs_zh],
        "cold_floor_s": med("ready", floor),
        "cold_floor_runs_s": [round(r["ready"], 2) for r in floor],
        "cold_http_s": med("http"),
        "cold_js_loaded_s": med("js"),
        "cold_first_content_s": med("content"),
        "cold_second_visit_s": med("second_visit"),
        "cold_import_s": round(_import_s(), 2),
        "cold_loadavg_1m": round(os.getloadavg()[0], 1),
    }


def rows(result: dict) -> list[tuple[str, str]]:
    if not result:
        return [("cold start", f"skipped ({CHROMIUM} missing)")]
    return [
        ("first usable home page (median, en)", f"{result['cold_first_page_s']:.2f} s  runs {result['cold_first_page_runs_s']}"),
        ("first usable home page (median, zh)", f"{result['cold_first_page_zh_s']:.2f} s  runs {result['cold_first_page_zh_runs_s']}"),
        ("bare Streamlit app, same shape (floor)", f"{result['cold_floor_s']:.2f} s  runs {result['cold_floor_runs_s']}"),
        ("  server answers HTTP", f"{result['cold_http_s']:.2f} s"),
        ("  browser has Streamlit's page + scripts", f"{result['cold_js_loaded_s']:.2f} s"),
        ("  home page title drawn", f"{result['cold_first_content_s']:.2f} s"),
        ("second visitor, warm server (from goto)", f"{result['cold_second_visit_s']:.2f} s"),
        ("imports of app + home (fresh python)", f"{result['cold_import_s']:.2f} s"),
        ("load average (1 min) at the end", f"{result['cold_loadavg_1m']}"),
    ]


if __name__ == "__main__":
    res = run(quick="--quick" in sys.argv)
    for label, value in rows(res):
        print(f"{label:<40} {value}")
