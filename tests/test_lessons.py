"""Lessons: the shipped lessons are valid; the validator reports file:line; the page steps and links."""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lessons
from i18n import t
from questions.bank import load_bank
from questions.schema import DEMO_SECTIONS
from tests.apptest import open_page
from ui.shell import md_plain

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"attention-in-20-minutes", "positional-encoding", "norms-and-residuals"}


@pytest.fixture(scope="module")
def bank_ids() -> set[str]:
    return set(load_bank().by_id)


def test_shipped_lessons_valid(bank_ids: set[str]) -> None:
    result = lessons.load_lessons(known_cards=bank_ids)
    assert result.problems == [], [str(p) for p in result.problems]
    assert REQUIRED <= set(result.lessons)
    for lesson in result.lessons.values():
        assert 10 <= len(lesson) <= 15, (lesson.id, len(lesson))
        cards = [s.card for s in lesson.steps if s.card]
        assert len(cards) == len(set(cards)), f"{lesson.id} repeats a card"
        for step in lesson.steps:
            assert step.card is None or step.card in bank_ids
            if step.demo is not None and "section" in step.demo.params:
                assert step.demo.params["section"] in DEMO_SECTIONS[step.demo.id]
            zh, en = step.talking_point.zh, step.talking_point.en
            assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), zh
            assert not any("\u4e00" <= ch <= "\u9fff" for ch in en), en


def test_cli_validate_green() -> None:
    out = subprocess.run([sys.executable, "-m", "lessons", "validate"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK: " in out.stdout and "attention-in-20-minutes" in out.stdout


BAD = """\
title: {zh: 坏课, en: Broken}
steps:
  - card: why-scale-by-sqrt-dk
    demo: {id: attention, params: {section: scaling}}
    talking_point: {zh: 好, en: fine}
  - card: no-such-card
    demo: null
    talking_point: {zh: 好, en: fine}
  - card: null
    demo: {id: attention, params: {section: nope}}
    talking_point: {zh: 好, en: fine}
  - card: null
    demo: {id: no_such_demo}
    talking_point: {zh: 好, en: fine}
  - card: null
    demo: null
    talking_point: {zh: 好, en: fine}
  - card: why-scale-by-sqrt-dk
    talking_point: {zh: 好}
"""


def test_validator_reports_file_and_line(tmp_path: Path, bank_ids: set[str]) -> None:
    (tmp_path / "broken.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "syntax.yaml").write_text("title: {zh: a, en: b\nsteps: [\n", encoding="utf-8")
    result = lessons.load_lessons(tmp_path, known_cards=bank_ids)
    assert "broken" not in result.lessons
    where = {(p.file, p.line): p.reason for p in result.problems}
    # pydantic errors come first (the file fails as a whole); each points at its own line
    assert any(f == "broken.yaml" and ln == 10 and "unknown section 'nope'" in r for (f, ln), r in where.items()), where
    assert any(f == "broken.yaml" and ln == 13 and "unknown demo id 'no_such_demo'" in r
               for (f, ln), r in where.items()), where
    assert any(f == "broken.yaml" and ln == 15 and "needs a card, a demo or both" in r
               for (f, ln), r in where.items()), where
    assert any(f == "broken.yaml" and ln == 19 and "steps.5.talking_point.en: missing field" in r
               for (f, ln), r in where.items()), where
    assert any(f == "syntax.yaml" and "YAML syntax error" in r for (f, _), r in where.items()), where


def test_validator_unknown_card_line(tmp_path: Path, bank_ids: set[str]) -> None:
    text = "\n".join(BAD.splitlines()[:8]) + "\n"   # the first two steps: the second's card is unknown
    (tmp_path / "cards.yaml").write_text(text, encoding="utf-8")
    result = lessons.load_lessons(tmp_path, known_cards=bank_ids)
    assert [str(p) for p in result.problems] == ["cards.yaml:6: steps.1.card: unknown card id 'no-such-card'"]
    assert result.lessons == {}


def test_cli_validate_red(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(BAD, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "lessons", "validate", "--dir", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "x.yaml:10: steps.2.demo: unknown section 'nope'" in out.stdout, out.stdout


def test_long_talking_point_rejected(tmp_path: Path, bank_ids: set[str]) -> None:
    long = "x" * (lessons.MAX_TALKING_POINT + 1)
    (tmp_path / "long.yaml").write_text(
        f"title: {{zh: 长, en: Long}}\nsteps:\n  - card: why-scale-by-sqrt-dk\n"
        f"    talking_point: {{zh: 短, en: {long}}}\n", encoding="utf-8")
    result = lessons.load_lessons(tmp_path, known_cards=bank_ids)
    assert len(result.problems) == 1 and result.problems[0].line == 4, result.problems


# ---- the page (AppTest) ----

lessons_page = functools.partial(open_page, "lessons")


def counter(at: AppTest) -> str:
    return next(m.value.strip("*") for m in at.markdown if m.value.startswith("**") and " / " in m.value)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_list_then_step_through(lang: str) -> None:
    at = lessons_page(lang)
    assert [x.value for x in at.title] == [t("common.page_lessons", lang)]
    lesson = lessons.load_lessons().lessons["positional-encoding"]
    assert lesson.title.get(lang) in [s.value for s in at.subheader]
    at.button(key="start:positional-encoding").click().run()
    assert [x.value for x in at.title] == [lesson.title.get(lang)]
    assert counter(at) == f"1 / {len(lesson)}"
    assert at.query_params["lesson"] == "positional-encoding" and at.query_params["step"] == "1"
    assert at.info[0].value == lesson.steps[0].talking_point.get(lang)
    assert at.button(key="lesson_prev").disabled
    at.button(key="lesson_next").click().run()
    at.button(key="lesson_next").click().run()
    assert counter(at) == f"3 / {len(lesson)}"
    assert at.query_params["step"] == "3"
    assert at.info[0].value == lesson.steps[2].talking_point.get(lang)
    at.button(key="lesson_prev").click().run()
    assert counter(at) == f"2 / {len(lesson)}"
    at.button(key="lesson_list").click().run()
    assert "lesson" not in at.query_params
    assert [x.value for x in at.title] == [t("common.page_lessons", lang)]


def test_deep_link_to_step_and_last_step() -> None:
    lesson = lessons.load_lessons().lessons["norms-and-residuals"]
    n = len(lesson)
    at = lessons_page("en", lesson="norms-and-residuals", step=str(n))
    assert counter(at) == f"{n} / {n}"
    assert at.button(key="lesson_next").disabled
    assert at.success[0].value == t("lessons.the_end", "en")
    card = load_bank().by_id[lesson.steps[-1].card]
    assert card.question.en in [s.value for s in at.subheader]


def test_bad_step_and_unknown_lesson() -> None:
    at = lessons_page("en", lesson="attention-in-20-minutes", step="999")
    lesson = lessons.load_lessons().lessons["attention-in-20-minutes"]
    assert counter(at) == f"{len(lesson)} / {len(lesson)}"
    at = lessons_page("en", lesson="attention-in-20-minutes", step="abc")
    assert counter(at) == f"1 / {len(lesson)}"
    at = lessons_page("en", lesson="no-such-lesson")
    assert at.warning[0].value == t("lessons.not_found", "en", id=md_plain("no-such-lesson"))  # URL text escaped
    assert [x.value for x in at.title] == [t("common.page_lessons", "en")]


def test_demo_step_embeds_demo_page() -> None:
    at = lessons_page("zh", lesson="attention-in-20-minutes", step="5")
    step = lessons.load_lessons().lessons["attention-in-20-minutes"].steps[4]
    assert step.demo is not None and step.demo.id == "attention"
    frames = [e for e in at.main if getattr(e, "type", "") == "iframe"] or at.get("iframe")
    assert frames, "the demo is embedded"
    src = frames[0].proto.src
    assert src.startswith("/attention?") and "section=scaling" in src and "d_k=64" in src
    assert "lang=zh" in src and "present=1" in src and "embed=true" in src
