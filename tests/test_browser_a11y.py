"""Accessibility: axe-core (tests/axe, npm; injected from the local file, offline) on every page
in both languages. Serious and critical violations caused by our code fail the test; the ones
Streamlit's own markup causes are allowed by STREAMLIT (rule id + where), listed with the reason
in docs/ACCESSIBILITY.md. Also: <html lang> matches the page language, every chart has a text
alternative (role="figure" + aria-label from ui.plot.alt_text). The full report goes to
artifacts/a11y.json.

axe-core comes from `npm install --prefix tests/axe` (scripts/test.sh runs it when missing).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import chromium, streamlit_server, wait_rendered
from ui.nav import PAGES

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BAD = ("serious", "critical")

# (rule id, a piece of the element's selector or HTML): Streamlit's own markup, not ours.
STREAMLIT = (
    # The sidebar navigation: <ul data-testid="stSidebarNavItems"> holds section <header>/<div>
    # wrappers around its <li> items (streamlit frontend SidebarNav).
    ("list", "stSidebarNavItems"),
    ("listitem", "<li class="),
)

_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 300)}))}))"""
# Plotly draws each chart after its element mounts (and a first run may rerun once): wait until
# every chart has drawn and carries its label.
_CHARTS_READY = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(el => el.querySelector('.js-plotly-plot .main-svg') && el.getAttribute('aria-label'))"""
_CHARTS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(
    el => [el.getAttribute('role'), el.getAttribute('aria-label')])"""


def streamlit_owned(rule: str, node: dict) -> bool:
    return any(rule == r and (where in node["target"] or where in node["html"]) for r, where in STREAMLIT)


def test_axe_every_page_both_languages(artifacts):
    if not AXE.exists():
        pytest.skip("axe-core is missing: npm install --prefix tests/axe (scripts/test.sh does it)")
    report, ours, unlabeled = [], [], []
    with streamlit_server() as base, chromium() as ctx:
        page = ctx.new_page()
        page.set_viewport_size({"width": 1280, "height": 800})
        for lang in ("zh", "en"):
            for spec in PAGES:
                page.goto(f"{base}/{'' if spec.default else spec.id}?lang={lang}")
                wait_rendered(page, timeout_ms=90000)
                page.wait_for_function(_CHARTS_READY, timeout=60000)
                page.wait_for_timeout(800)
                with contextlib.suppress(PlaywrightTimeout):  # a late rerun redraws: label again
                    page.wait_for_function(_CHARTS_READY, timeout=20000)
                assert page.evaluate("document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
                unlabeled += [(spec.id, lang) for role, label in page.evaluate(_CHARTS) if role != "figure" or not label]
                page.add_script_tag(path=str(AXE))
                for v in page.evaluate(_RUN):
                    for node in v["nodes"]:
                        owner = "streamlit" if streamlit_owned(v["id"], node) else "ours"
                        row = {"page": spec.id, "lang": lang, "rule": v["id"], "impact": v["impact"],
                               "help": v["help"], "owner": owner, **node}
                        report.append(row)
                        if owner == "ours" and v["impact"] in BAD:
                            ours.append(row)
    (artifacts / "a11y.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    assert not unlabeled, unlabeled
    assert not ours, "\n".join(f"{r['page']} {r['lang']} {r['rule']} ({r['impact']}): {r['target']} {r['html'][:120]}"
                               for r in ours)
