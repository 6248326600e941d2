"""A fresh server; every page opened by its URL in Debian's chromium; title checked; screenshot saved.

The very first request goes to a page URL (not the root), which is the case Streamlit's legacy
pages/ discovery would otherwise route around app.py.
"""
from __future__ import annotations

import pytest

from i18n import t
from tests.browser import chromium, streamlit_server, wait_rendered
from ui.nav import PAGES

pytestmark = pytest.mark.browser


def test_every_page_by_url_on_fresh_server(artifacts):
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    order = [p for p in PAGES if not p.default] + [p for p in PAGES if p.default]
    with streamlit_server() as base, chromium() as ctx:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for lang in ("en", "zh"):
            for spec in order:
                path = "" if spec.default else spec.id
                page.goto(f"{base}/{path}?lang={lang}")
                wait_rendered(page)
                title = page.locator('[data-testid="stMain"] h1').first.inner_text()
                assert title.strip() == t(f"common.page_{spec.id}", lang), (spec.id, lang, title)
                assert not page.locator('[data-testid="stException"]').count(), (spec.id, lang)
                assert "Page not found" not in page.inner_text("body")
                assert f"lang={lang}" in page.url
                page.screenshot(path=str(shots / f"{spec.id}-{lang}.png"), full_page=True)
        assert not errors, errors
