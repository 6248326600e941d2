"""Real browser (Playwright + Debian chromium), fresh server on a temp TIL_DB: keyboard shortcuts of
the flashcards page, and screenshots of flashcards, stats and the interview summary."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.browser import chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser


def _current_question(page) -> str:
    return page.locator('[data-testid="stMain"] h4').first.inner_text().strip()


def _wait_for(cond, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _answer_followups(page, done_text: str, shot: Path | None = None) -> int:
    """The interviewer may follow up (追问, issue 17) when an answer missed a point: answer each
    follow-up and grade it with the keyboard ("1" = Again) until `done_text` (the next question or
    the summary). Returns how many follow-ups were asked."""
    submit = page.get_by_role("button", name="Submit the follow-up answer")
    for n in range(5):
        _wait_for(lambda: submit.count() > 0 or (done_text in page.inner_text("body")
                                                 and "The interviewer follows up" not in page.inner_text("body")),
                  timeout=60)
        if submit.count() == 0:
            return n
        area = page.locator("textarea").first
        area.fill("I would need to think about that")
        area.press("Control+Enter")
        page.wait_for_timeout(400)
        submit.click()
        page.get_by_text("The follow-up's reference answer").first.wait_for(timeout=60000)
        if shot is not None and n == 0:
            page.screenshot(path=str(shot), full_page=True)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("1")
        _wait_for(lambda: page.get_by_text("The follow-up's reference answer").count() == 0, timeout=60)
    raise AssertionError(f"{done_text!r} never came")


def test_keyboard_review_and_screenshots(tmp_path: Path, artifacts: Path) -> None:
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "progress.sqlite3"
    with streamlit_server(env={"TIL_DB": str(db)}) as base, chromium() as ctx:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/flashcards?lang=en")
        wait_rendered(page)
        page.wait_for_selector('[data-testid="stMain"] h4')
        first = _current_question(page)
        assert page.get_by_role("button", name="Good").count() == 0
        page.evaluate("document.activeElement && document.activeElement.blur()")  # focus the page, not an input
        page.keyboard.press("Space")
        page.get_by_role("button", name="Good · 10 min").wait_for(timeout=20000)
        page.screenshot(path=str(shots / "study-flashcards-answer-en.png"), full_page=True)
        page.keyboard.press("3")
        _wait_for(lambda: page.locator('[data-testid="stMain"] h4').count() > 0
                  and _current_question(page) != first and page.get_by_role("button", name="Good").count() == 0)
        rows = list(sqlite3.connect(db).execute("SELECT question_id, rating FROM reviews"))
        assert len(rows) == 1 and rows[0][1] == 3
        assert "new today 1/20" in page.inner_text("body")
        # Enter reveals too; "1" rates Again
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Again · 1 min").wait_for(timeout=20000)
        page.keyboard.press("1")
        _wait_for(lambda: len(list(sqlite3.connect(db).execute("SELECT 1 FROM reviews"))) == 2)
        assert [r[0] for r in sqlite3.connect(db).execute("SELECT rating FROM reviews ORDER BY id")] == [3, 1]
        # typing digits into the self-check box must not rate the card
        page.goto(f"{base}/flashcards?lang=zh&check=1")
        wait_rendered(page)
        box = page.locator("textarea").first
        box.click()
        box.type("自注意力 3 1 残差 <script>alert(1)</script> 🙂")
        page.wait_for_timeout(500)
        assert len(list(sqlite3.connect(db).execute("SELECT 1 FROM reviews"))) == 2
        page.screenshot(path=str(shots / "study-flashcards-zh.png"), full_page=True)
        box.press("Control+Enter")
        page.wait_for_timeout(500)
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Space")
        page.get_by_text("确认你说到的要点").first.wait_for(timeout=20000)   # the rubric (issue 19)
        assert page.locator("script", has_text="alert(1)").count() == 0
        page.screenshot(path=str(shots / "study-flashcards-selfcheck-zh.png"), full_page=True)

        page.goto(f"{base}/stats?lang=en")
        wait_rendered(page)
        page.wait_for_selector(".js-plotly-plot", timeout=20000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "study-stats-en.png"), full_page=True)

        # the mock interview: Advanced cards all carry follow-ups (追问, issue 17), and "I don't know"
        # misses every trigger, so the second answer is always followed up; graded by keyboard
        page.goto(f"{base}/interview?lang=en")
        wait_rendered(page)
        page.get_by_label("Number of questions").fill("2")
        page.get_by_label("Number of questions").press("Enter")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Advanced").click()
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Start the interview").click()
        asked = 0
        for i in range(2):
            page.get_by_text("Time left").first.wait_for(timeout=20000)
            area = page.locator("textarea").first
            area.fill("Self-attention, residual connections and LayerNorm" if i == 0 else "I don't know")
            area.press("Control+Enter")
            page.wait_for_timeout(400)
            page.get_by_role("button", name="Submit and see the reference").click()
            page.get_by_text("Self-grade: how did you do?").wait_for(timeout=20000)
            if i == 0:
                page.screenshot(path=str(shots / "study-interview-review-en.png"), full_page=True)
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.keyboard.press("3" if i == 0 else "1")
            asked += _answer_followups(page, "Time left" if i == 0 else "Interview summary",
                                       shot=shots / "study-interview-followup-en.png" if i == 1 else None)
        assert asked >= 1
        page.get_by_text("Interview summary").first.wait_for(timeout=20000)
        wait_rendered(page)
        page.get_by_role("button", name="New interview").wait_for(timeout=20000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(shots / "study-interview-summary-en.png"), full_page=True)
        with page.expect_download() as dl:
            page.get_by_role("button", name="Export Markdown").click()
        md = Path(dl.value.path()).read_text(encoding="utf-8")
        assert md.startswith("# Mock interview summary") and "| 2 |" in md
        assert not errors, errors
