"""Screenshot pass: every registered page, both languages, at 1280 px (and, with TIL_SCREENS=full,
also at 1920 and 800 px: a wide monitor and a projector / split laptop screen).

PNGs go to artifacts/screenshots/pass/<width>/<page>-<lang>.png, to be looked at. The test asserts
what a screenshot cannot hide: no exception box, the page's own title, every plotly chart drawn,
and no horizontal overflow of the main area (something wider than the screen).

    python3 -m pytest -q -p no:cacheprovider tests/test_browser_screens.py          # 1280 px
    TIL_SCREENS=full python3 -m pytest -q -p no:cacheprovider tests/test_browser_screens.py
"""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from i18n import t
from tests.browser import chromium, streamlit_server, wait_rendered
from ui.nav import PAGES

pytestmark = pytest.mark.browser

WIDTHS = (1280, 1920, 800) if os.environ.get("TIL_SCREENS") == "full" else (1280,)
HEIGHT = {1280: 800, 1920: 1080, 800: 900}

# Plotly draws each chart into .main-svg after the element mounts: wait until every chart has one.
# Lazy elements (charts, dataframes, markdown with maths) show a skeleton until their code loads:
# wait until none is left.
_CHARTS_DRAWN = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(el => el.querySelector('.js-plotly-plot .main-svg'))"""
# The main area scrolls sideways when something is wider than it (a table, a chart, a long token).
_OVERFLOW = """() => { const m = document.querySelector('[data-testid="stMain"]');
    return m ? m.scrollWidth - m.clientWidth : 0; }"""

_CONTENT_HEIGHT = """() => { const b = document.querySelector('[data-testid="stMainBlockContainer"]');
    return Math.ceil(b ? b.getBoundingClientRect().height + 120 : document.body.scrollHeight); }"""


def open_page(page, base: str, page_id: str, lang: str) -> None:
    path = "" if page_id == "home" else page_id
    page.goto(f"{base}/{path}?lang={lang}")
    wait_rendered(page, timeout_ms=90000)
    page.wait_for_function(_CHARTS_DRAWN, timeout=60000)
    page.wait_for_timeout(600)  # plotly's relayout after the first draw


def shoot(page, path, width: int) -> None:
    """The whole page: Streamlit scrolls inside its main area, so a full-page screenshot would stop
    at the viewport; make the viewport as tall as the content for the shot, then put it back."""
    tall = page.evaluate(_CONTENT_HEIGHT)
    page.set_viewport_size({"width": width, "height": max(HEIGHT[width], min(tall, 12000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": HEIGHT[width]})


def test_screenshot_pass(artifacts):
    out = artifacts / "screenshots" / "pass"
    problems: list[str] = []
    with streamlit_server() as base, chromium() as ctx:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT[width]})
            (out / str(width)).mkdir(parents=True, exist_ok=True)
            for lang in ("zh", "en"):
                for spec in PAGES:
                    try:
                        open_page(page, base, spec.id, lang)
                    except PlaywrightTimeout:
                        problems.append(f"{width} {lang} {spec.id}: not rendered in time")
                    title = page.locator('[data-testid="stMain"] h1').first.inner_text().strip()
                    if title != t(f"common.page_{spec.id}", lang):
                        problems.append(f"{width} {lang} {spec.id}: title {title!r}")
                    if page.locator('[data-testid="stException"]').count():
                        problems.append(f"{width} {lang} {spec.id}: exception shown")
                    overflow = page.evaluate(_OVERFLOW)
                    if overflow > 2:
                        problems.append(f"{width} {lang} {spec.id}: main area {overflow} px too wide")
                    shoot(page, out / str(width) / f"{spec.id}-{lang}.png", width)
        # an unknown address: our page in the URL's language, not Streamlit's English dialog
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/no-such-page?lang=zh")
        wait_rendered(page, timeout_ms=90000)
        assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip() == t("common.not_found_title", "zh")
        assert "Page not found" not in page.inner_text("body")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        # the tab shows our icon (assets/favicon.svg, set by the page script), not Streamlit's
        icon = page.evaluate("document.querySelector(\"link[rel~='icon']\").href")
        assert icon.startswith("data:image/svg+xml;base64,"), icon[:80]
        # an 800 px screen: home's page-link cards two to a row, wide enough for a one-word title
        # (at three to a row "Flashcards" broke mid-word)
        page.set_viewport_size({"width": 800, "height": 900})
        open_page(page, base, "home", "en")
        widths = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stColumn"]:has([data-testid="stPageLink"])')]
            .map(c => c.getBoundingClientRect().width)""")
        assert len(widths) >= 16 and min(widths) >= 150, widths
        assert not errors, errors
    assert not problems, "\n".join(problems)
