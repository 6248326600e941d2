"""Every URL parameter of every page, in both languages, with hostile values: 0 exceptions shown.

The parameter names of a page are read from its source (the first argument of every `state.*`
widget, every literal `st.query_params` key) plus DEMO_PARAMS and the shared ones (`learner`,
`present`, `lang`'s neighbours). Each run sets ALL of a page's parameters at once, each to a
different value of CORPUS (rotated between runs, so each parameter meets several values), in
every section of a demo page (its widgets only exist there), alternating zh / en. The run is
fixed (no randomness); `TIL_FUZZ_ROUNDS=N` repeats it N times with the vectors rotated further.
"""
from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from questions.schema import DEMO_PARAMS, DEMO_SECTIONS
from tests.apptest import open_page
from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("TIL_FUZZ_ROUNDS", "1"))

CORPUS = [
    "![x](http://127.0.0.1:9/p.png)",
    "[Session expired: sign in again](http://127.0.0.1:9/login)",
    "1e999",                                   # inf
    "NaN",
    "9" * 5000,                                # past Python's int digit limit
    ",".join(map(str, range(40))),             # too many items
    "",
    "\x00\u202e<script>alert(1)</script>",
    "-99999999999999999999",
    "0.5",
    ",,,,,,,,,,,,,,,,,,,,",
    "ü" * 600,
]
SHARED = ("learner", "present", "section", "layer", "head")  # + names some pages build at run time
_STATE_CALL = re.compile(r"^(slider|number|select|toggle|text|multiselect|text_area|section)$")


def page_params(page_id: str) -> list[str]:
    """URL parameter names a page reads: from its source, DEMO_PARAMS and the shared ones."""
    path = ROOT / "pages" / f"{page_id}.py"
    names = set(DEMO_PARAMS.get(page_id, ())) | set(SHARED)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call | ast.Subscript):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (isinstance(owner, ast.Name) and owner.id == "state" and _STATE_CALL.match(node.func.attr)
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names.add(node.args[0].value)
            if (node.func.attr in ("get", "get_all", "pop") and "query_params" in ast.unparse(owner)
                    and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(str(node.args[0].value))
        if isinstance(node, ast.Subscript) and "query_params" in ast.unparse(node.value) \
                and isinstance(node.slice, ast.Constant):
            names.add(str(node.slice.value))
    names.discard("lang")
    return sorted(names)


def cases() -> list[tuple[str, str | None, int]]:
    """(page, section, k): a page without sections runs in zh and en; a demo page once per section
    (zh and en alternating) plus once with a hostile `section`; ROUNDS > 1 repeats with the
    vectors rotated further."""
    out = []
    for p in PAGES:
        sections = DEMO_SECTIONS.get(p.id, ())
        for r in range(ROUNDS):
            if not sections:
                out.extend((p.id, None, 2 * r + k) for k in range(2))
                continue
            out.extend((p.id, s, r * len(sections) + i) for i, s in enumerate(sections))
            out.append((p.id, "?", r))
    return out


CASES = cases()


@pytest.fixture(autouse=True)
def _db(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIL_DB", str(tmp_path_factory.getbasetemp() / "fuzz.sqlite3"))


_run = functools.partial(open_page, timeout=120, check_exceptions=False)


def _shown(at: AppTest) -> str:
    return "\n".join(str(getattr(e, "value", "")) for kind in ("error", "warning", "toast", "exception")
                     for e in getattr(at, kind))


def test_every_page_has_params() -> None:
    assert len(PAGES) >= 20
    assert "dims" in page_params("positional_encoding") and "d_model" in page_params("positional_encoding")
    assert {"cards", "mode"} <= set(page_params("flashcards"))
    assert {"lesson", "step"} <= set(page_params("lessons"))


@pytest.mark.parametrize("page_id,section,k", CASES,
                         ids=[f"{p}-{s or 'page'}-{k}" for p, s, k in CASES])
def test_hostile_values(page_id: str, section: str | None, k: int) -> None:
    names = page_params(page_id)
    params = {n: CORPUS[(j + k) % len(CORPUS)] for j, n in enumerate(names)}
    if section is not None:
        params["section"] = section if section != "?" else CORPUS[k % len(CORPUS)]
    lang = ("en", "zh")[k % 2]
    at = _run(page_id, lang, **params)
    assert not at.exception, (params, [e.value for e in at.exception])
    shown = _shown(at)
    assert "Traceback" not in shown and str(ROOT) not in shown, shown[:500]


def test_nine_dims_is_clamped_not_a_traceback() -> None:
    """The issue's case: nine dims where the widget allows eight."""
    at = _run("positional_encoding", "en", section="curves", dims="0,1,2,3,4,5,6,7,8")
    assert not at.exception
    assert at.multiselect(key="positional_encoding:dims").value == list(range(8))
    assert any("out of range" in t.value for t in at.toast)
    assert at.query_params["dims"] in ("0,1,2,3,4,5,6,7", ["0,1,2,3,4,5,6,7"])
