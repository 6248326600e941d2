"""A newcomer's first page stays light (issue 18, cold start; bench/cold_start.py measures it).

The home page of a learner without reviews runs in a fresh interpreter, with the background
warm-up switched off: it must not have imported the question bank and its schema (pydantic, the
Markdown judge, search), numpy (an image favicon pulls it in through Streamlit) or torch. Those
cost ~0.5 s of the first script run; the warm-up loads them after the first page. Nor may it run
Streamlit's REPL check (an inspect.stack(), 0.05-0.1 s; shell.skip_repl_check), nor compile
Streamlit's emoji catalogue (~0.1 s; loaded for a non-ASCII label such as the language switch's
中文, see app.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from i18n import t

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "model", "numpy", "pydantic", "questions.bank", "questions.schema", "questions.search",
         "markdown_it", "rapidfuzz", "PIL.Image", "streamlit.emojis")

_RUN = """
import json, sys
from streamlit.testing.v1 import AppTest
import ui.shell
ui.shell.warm_up = lambda *loaders: None   # what the first page itself imports, not the warm-up
import streamlit.env_util
repl_checks = []
_is_repl = streamlit.env_util.is_repl
streamlit.env_util.is_repl = lambda: repl_checks.append(1) or _is_repl()
heavy = {heavy!r}
before = [m for m in heavy if m in sys.modules]
at = AppTest.from_file("app.py", default_timeout=60)
at.query_params["lang"] = {lang!r}
at.run()
print(json.dumps({{"before": before, "after": [m for m in heavy if m in sys.modules],
                  "title": [t.value for t in at.title], "exceptions": len(at.exception),
                  "repl_checks": len(repl_checks)}}))
"""


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter at the repository root, on a store of its own."""
    env = {**os.environ, "TIL_DB": str(tmp_path / "p.sqlite3")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_first_page_loads_no_bank_numpy_or_torch(lang: str, tmp_path: Path) -> None:
    out = _run(_RUN.format(heavy=HEAVY, lang=lang), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == 0 and result["title"] == [t("common.page_home", lang)], result
    assert result["before"] == [], result          # the check starts clean
    assert result["after"] == [], f"the first page imported {result['after']}"
    # Streamlit's REPL check (inspect.stack() over every frame) is skipped under a runtime
    assert result["repl_checks"] == 0, result


def test_the_check_sees_a_heavy_import(tmp_path: Path) -> None:
    """The same harness reports a module the page did import (here: the bank, by a returning learner's deck)."""
    code = _RUN.format(heavy=HEAVY, lang="en").replace(
        "at.run()", "at.run()\nimport ui.profile  # noqa\nfrom ui.cards import get_bank\nget_bank()")
    out = _run(code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "questions.bank" in json.loads(out.stdout.strip().splitlines()[-1])["after"]


_RACE = """
import importlib.abc, importlib.util, sys, threading, time

class SlowNumpy(importlib.abc.MetaPathFinder):
    # numpy is put in sys.modules, then initialised a second later: the window in which the app's
    # background warm-up (torch imports numpy) meets a visitor's chart page
    def find_spec(self, name, path, target=None):
        if name != "numpy":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("numpy")
        real = spec.loader

        class Slow(importlib.abc.Loader):
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                time.sleep(1.0)
                real.exec_module(module)

        spec.loader = Slow()
        return spec

sys.meta_path.insert(0, SlowNumpy())
warm = threading.Thread(target=lambda: __import__("numpy"))
warm.start()
time.sleep(0.3)
import figures.style   # builds the house template: plotly looks at sys.modules["numpy"]
import plotly.graph_objects as go
figures.style.style(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])), "t")
warm.join()
print("ok")
"""


def test_a_chart_page_waits_for_a_numpy_import_in_progress(tmp_path: Path) -> None:
    """The warm-up thread importing torch (hence numpy) while a visitor opens a chart page: the
    figures package waits for that import instead of handing plotly a half-initialised numpy."""
    out = _run(_RACE, tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-1500:]
