"""Per-page rerun time after a widget change (AppTest), against an empty Streamlit page."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def _change_a_widget(at: AppTest, i: int) -> str:
    """Change one widget on the page (alternating values): returns which one ("slider 'd_model'"),
    or "" when the page has none."""
    for sl in at.slider:
        lo, hi = sl.min, sl.max
        sl.set_value(lo if i % 2 else hi)
        return f"slider {sl.label!r}"
    for sb in at.selectbox:
        if len(sb.options) > 1:
            sb.select_index(i % len(sb.options))
            return f"selectbox {sb.label!r}"
    for tg in at.toggle:
        tg.set_value(bool(i % 2))
        return f"toggle {tg.label!r}"
    for rd in at.radio:
        if len(rd.options) > 1:
            rd.set_value(rd.options[i % len(rd.options)])
            return f"radio {rd.label!r}"
    return ""


def time_page(page_id: str | None, reps: int) -> dict:
    if page_id is None:
        script = Path(tempfile.mkdtemp()) / "empty.py"
        script.write_text("import streamlit as st\nst.slider('x', 0, 10, 5)\n")
        at = AppTest.from_file(str(script), default_timeout=120)
        at.run()
    else:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["lang"] = "en"
        at.run()
        if page_id != "home":
            at.switch_page(f"pages/{page_id}.py")
            at.run()
    times = []
    widget = ""
    for i in range(reps):
        widget = _change_a_widget(at, i)
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"{page_id}: {at.exception[0].value}")
    return {"p95_ms": round(_p95(times), 2), "median_ms": round(statistics.median(times), 2),
            "widget_changed": bool(widget), "widget": widget}


def run(quick: bool = False) -> dict:
    reps = 5 if quick else 30
    empty = time_page(None, reps)
    pages = {p.id: time_page(p.id, reps) for p in PAGES}
    for v in pages.values():
        v["ratio_to_empty"] = round(v["p95_ms"] / max(empty["p95_ms"], 1e-6), 1)
    return {"pages": pages, "empty_page_p95_ms": empty["p95_ms"]}


def rows(result: dict) -> list[tuple[str, str]]:
    out = [("empty page p95", f"{result['empty_page_p95_ms']:.1f} ms")]
    for pid, v in result["pages"].items():
        flag = "" if v["p95_ms"] <= 150 else "  > 150 ms target"
        note = f"  {v['widget']}" if v["widget_changed"] else "  (no widget: plain rerun)"
        out.append((f"page {pid} p95", f"{v['p95_ms']:.1f} ms  median {v['median_ms']:.1f} ms"
                    f"  (x{v['ratio_to_empty']} empty){flag}{note}"))
    return out
