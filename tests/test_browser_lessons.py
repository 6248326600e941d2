"""A lesson stepped through with the arrow keys in a real browser; presentation-mode screenshots."""
from __future__ import annotations

import re

import pytest

import lessons
from i18n import t
from tests.browser import chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser

LESSON = "attention-in-20-minutes"
COUNTER = re.compile(r"^(\d+) / (\d+)$")


def counter(page) -> tuple[int, int]:
    for text in page.locator('[data-testid="stMain"] [data-testid="stMarkdownContainer"] strong').all_inner_texts():
        m = COUNTER.match(text.strip())
        if m:
            return int(m.group(1)), int(m.group(2))
    raise AssertionError("no step counter on the page")


def wait_counter(page, want: tuple[int, int]) -> None:
    for _ in range(60):
        wait_rendered(page)
        try:
            if counter(page) == want:
                return
        except AssertionError:
            pass
        page.wait_for_timeout(250)
    assert counter(page) == want


def test_arrow_keys_step_through_lesson(artifacts):
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    n = len(lessons.load_lessons().lessons[LESSON])
    with streamlit_server() as base, chromium() as ctx:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/lessons?lang=en&lesson={LESSON}&step=1")
        wait_counter(page, (1, n))
        page.locator('[data-testid="stMain"] h1').first.click()   # focus the lesson, not the demo frame
        page.keyboard.press("ArrowRight")
        wait_counter(page, (2, n))
        page.keyboard.press("ArrowRight")
        wait_counter(page, (3, n))
        page.wait_for_url(re.compile(r"[?&]step=3\b"), timeout=5000)
        page.keyboard.press("ArrowLeft")
        wait_counter(page, (2, n))
        page.wait_for_url(re.compile(r"[?&]step=2\b"), timeout=5000)
        talking = lessons.load_lessons().lessons[LESSON].steps[1].talking_point.en
        assert talking[:40] in page.locator('[data-testid="stAlert"]').first.inner_text()
        assert not errors, errors


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_presentation_mode_screens(artifacts, lang: str):
    """Presentation mode: no sidebar or header; a lesson step with its live demo; a demo page."""
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    lesson = lessons.load_lessons().lessons["positional-encoding"]
    with streamlit_server() as base, chromium() as ctx:
        page = ctx.new_page()
        page.goto(f"{base}/lessons?lang={lang}&lesson=positional-encoding&step=2&present=1")
        wait_counter(page, (2, len(lesson)))
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert page.locator('[data-testid="stMain"] h1').first.inner_text().strip() == lesson.title.get(lang)
        frame = page.frame_locator('[data-testid="stMain"] iframe').first
        frame.locator(".js-plotly-plot").first.wait_for(timeout=40000)
        frame_title = frame.locator("h1").first.inner_text().strip()
        assert frame_title == t("common.page_positional_encoding", lang)
        # the embedded demo has no exit button of its own; the lesson has one
        assert frame.get_by_text(t("common.exit_present", lang)).count() == 0
        assert page.get_by_text(t("common.exit_present", lang)).count() == 1
        page.wait_for_timeout(800)
        page.screenshot(path=str(shots / f"present-lesson-{lang}.png"))

        page.goto(f"{base}/positional_encoding?lang={lang}&section=curves&d_model=64&length=50&present=1")
        wait_rendered(page)
        page.locator('[data-testid="stMain"] .js-plotly-plot').first.wait_for(timeout=30000)
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        page.wait_for_timeout(800)
        page.screenshot(path=str(shots / f"present-demo-{lang}.png"))
