"""The drills page in a real browser: type a wrong solution into the code editor, run it with
Ctrl+Enter, see the named mistake; then the reference solution passes. Both languages; the
screenshots go to artifacts/screenshots/drills-{fail,pass}-{en,zh}.png."""
from __future__ import annotations

import pytest

from drills.registry import get
from tests.browser import chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser

FAIL_TEXT = {"en": "Start with the first ✗", "zh": "看下面第一个 ✗"}
PASS_TEXT = {"en": "checks passed (", "zh": "项检查通过（"}
MISTAKE = {"en": "Your scores are not divided by √d", "zh": "你的分数没有除以 √d"}


def _set_code_and_run(page, code: str) -> None:
    frame = page.frame_locator('iframe[title="code_editor.code_editor"]')
    editor = frame.locator(".ace_editor")
    editor.wait_for(timeout=30000)
    editor.evaluate("(el, code) => el.env.editor.setValue(code, 1)", code)
    frame.locator(".ace_text-input").focus()
    frame.locator(".ace_text-input").press("Control+Enter")


def test_drill_fail_then_pass_in_both_languages(artifacts, tmp_path):
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    drill = get("sdpa")
    with streamlit_server({"TIL_DB": str(tmp_path / "p.sqlite3")}) as base, chromium() as ctx:
        page = ctx.new_page()
        page.set_viewport_size({"width": 1400, "height": 2600})     # the whole page in one screenshot
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for lang in ("en", "zh"):
            page.goto(f"{base}/drills?lang={lang}&drill=sdpa")
            wait_rendered(page)
            _set_code_and_run(page, drill.fixture("no_scale"))
            page.get_by_text(FAIL_TEXT[lang]).wait_for(timeout=90000)
            wait_rendered(page)
            body = page.inner_text('[data-testid="stMain"]')
            assert MISTAKE[lang] in body
            page.mouse.wheel(0, -5000)
            page.screenshot(path=str(shots / f"drills-fail-{lang}.png"), full_page=True)

            _set_code_and_run(page, drill.reference)
            page.get_by_text(PASS_TEXT[lang]).first.wait_for(timeout=90000)
            wait_rendered(page)
            body = page.inner_text('[data-testid="stMain"]')
            assert "I love you now" in body
            assert not page.locator('[data-testid="stException"]').count()
            page.mouse.wheel(0, -5000)
            page.screenshot(path=str(shots / f"drills-pass-{lang}.png"), full_page=True)
        assert not errors, errors
