"""The question bank page (pages/bank.py) under streamlit's AppTest."""
from __future__ import annotations

import functools
import re
import textwrap
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from i18n import t
from questions.bank import load_bank
from tests.apptest import open_page

ROOT = Path(__file__).resolve().parents[1]


render = functools.partial(open_page, "bank")


def card_labels(at: AppTest) -> list[str]:
    """Expander labels of the result list (the problem-details expander excluded)."""
    return [e.label for e in at.expander if "·" in e.label]


def count_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if re.search(r"\d", m.value) and m.value.startswith("**"))


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROOT / "questions")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_renders_every_card_count(bank, lang: str) -> None:
    at = render(lang)
    assert t("common.page_bank", lang) in [e.value for e in at.title]
    n = len(bank.cards)
    assert count_text(at) == f"**{t('bank.count', lang, n=n, total=n)}**"
    assert len(card_labels(at)) == min(25, n)  # first page only; the rest behind "show more"


def test_search_returns_the_expected_card(bank) -> None:
    at = render("zh")
    at.text_input(key="bank:q").set_value("为啥要除以根号 dk").run()
    assert not at.exception
    labels = card_labels(at)
    assert labels, "no result"
    assert labels[0].startswith(bank.by_id["why-scale-by-sqrt-dk"].question.zh)
    assert at.query_params["q"] == "为啥要除以根号 dk"  # the search lives in the URL
    assert len(labels) < len(bank.cards)  # ranked and cut to the relevant cards


def test_filter_by_topic_narrows_the_count(bank) -> None:
    at = render("en")
    at.selectbox(key="bank:topic").set_value("masking").run()
    n = len(bank.by_topic("masking"))
    assert 0 < n < len(bank.cards)
    assert count_text(at) == f"**{t('bank.count', 'en', n=n, total=len(bank.cards))}**"
    assert len(card_labels(at)) == min(n, 25)
    at.selectbox(key="bank:difficulty").set_value("3").run()
    n3 = len(bank.filter(topic="masking", difficulty=3))
    assert count_text(at) == f"**{t('bank.count', 'en', n=n3, total=len(bank.cards))}**"
    assert at.query_params["topic"] == "masking" and at.query_params["difficulty"] == "3"


def test_filters_from_the_url(bank) -> None:
    at = render("en", topic="attention", q="multi head")
    labels = card_labels(at)
    ids = {c.question.en: c.id for c in bank.cards}
    got = [ids[label.split("  ·")[0]] for label in labels]
    assert got and all(bank.by_id[i].topic == "attention" for i in got)
    assert got[0] in ("why-multi-head", "multi-head-implementation")


def test_deep_link_opens_the_card_and_demo_button_targets_its_page(bank) -> None:
    card = bank.by_id["why-scale-by-sqrt-dk"]
    at = render("en", card=card.id)
    answers = [m.value for m in at.markdown if m.value.strip() == card.answer.en.strip()]
    assert answers, "the linked card's answer is shown"
    label = t("bank.open_demo_to", "en", demo="Attention")
    (button,) = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_attention", "en") in [e.value for e in at.title]
    assert at.query_params["section"] == "scaling"
    assert at.query_params["d_k"] == "64"


def test_unknown_deep_link_is_a_warning() -> None:
    at = render("en", card="<script>nope</script>")
    assert t("bank.unknown_card", "en") in [w.value for w in at.warning]


def test_bookmark_and_starred_filter(bank) -> None:
    card = bank.by_id["why-scale-by-sqrt-dk"]
    at = render("en", card=card.id)
    star = at.button(key=f"bank-linked:{card.id}:star")
    assert star.label == t("bank.bookmark", "en")
    star.click().run()
    assert at.button(key=f"bank-linked:{card.id}:star").label == t("bank.bookmarked", "en")
    at.toggle(key="bank:starred").set_value(True).run()
    assert [lb.split("  ·")[0] for lb in card_labels(at)] == [card.question.en]
    at.button(key=f"bank-linked:{card.id}:star").click().run()  # un-bookmark (leave the store clean)
    assert at.button(key=f"bank-linked:{card.id}:star").label == t("bank.bookmark", "en")


@pytest.mark.parametrize("text", ["x" * 10_000, "<script>alert('hi')</script><b>bold</b>", "😀🤖🔥 注意力 🔥",
                                  "   ", "$$\\frac{"], ids=["long", "html", "emoji", "blank", "latex"])
def test_bad_search_input_is_handled(text: str) -> None:
    at = render("en")
    at.text_input(key="bank:q").set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in at.markdown] + [i.value for i in at.info]
    assert not any("<script>" in s for s in shown)  # never echoed as markup
    if len(text) > 200:  # capped by the widget (max_chars), the URL and the page
        assert len(at.text_input(key="bank:q").value) == 200
        assert len(at.query_params["q"]) == 200


def test_bad_file_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "attention.yaml").write_text(textwrap.dedent("""\
        - id: only-card
          topic: attention
          difficulty: 1
          source: supplement
          question:
            zh: 什么是注意力？
            en: What is attention?
          answer:
            zh: 加权平均。
            en: A weighted average.
          keywords: {zh: [[加权]], en: [[weighted]]}
        """), encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("- id: x\n  topic: [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("TIL_QUESTIONS_DIR", str(tmp_path))
    at = render("en")
    warnings = [w.value for w in at.warning]
    assert any("broken.yaml" in w and "attention.yaml" not in w for w in warnings), warnings
    assert count_text(at) == f"**{t('bank.count', 'en', n=1, total=1)}**"
    assert [e.label.split("  ·")[0] for e in at.expander if "·" in e.label] == ["What is attention?"]
    details = "\n".join(c.value for c in at.code)
    assert "broken.yaml:3: YAML syntax error" in details or "broken.yaml:2: YAML syntax error" in details


def test_rerun_is_fast() -> None:
    at = render("en")
    times = []
    for i, q in enumerate(["mask", "LN vs BN", "位置编码", "beam search", "warmup"] * 2):
        at.text_input(key="bank:q").set_value(q)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, i
    times.sort()
    assert times[len(times) // 2] < 0.5, times  # AppTest overhead included; bench/ measures the page


def test_show_more_and_close_linked(bank) -> None:
    at = render("en", card="rope")
    assert len(card_labels(at)) == min(25, len(bank.cards))
    if len(bank.cards) > 25:
        at.button(key="bank:more").click().run()
        assert len(card_labels(at)) == min(50, len(bank.cards))
    at.button(key="bank:close_linked").click().run()
    assert "card" not in at.query_params
    assert not [b for b in at.button if b.key and b.key.startswith("bank-linked:")]


def test_demo_footer_lists_cards_and_quiz_me_goes_to_cram(bank) -> None:
    """ui.demo_footer on a demo page: its cards, and the flashcards contract (cards, mode, lang)."""
    demo = "positional_encoding"
    page_src = (ROOT / "pages" / f"{demo}.py").read_text(encoding="utf-8")
    if "demo_footer" not in page_src:
        pytest.skip("the demo page does not call demo_footer yet")
    expected = [c.id for c in bank.for_demo(demo)]
    assert expected, "no card links to this demo"
    at = open_page(demo)
    labels = [e.label.split("  ·")[0] for e in at.expander if "·" in e.label]
    assert labels == [bank.by_id[i].question.en for i in expected]
    at.button(key=f"footer:{demo}:quiz").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_flashcards", "en") in [e.value for e in at.title]
    assert at.query_params["cards"] == ",".join(expected)
    assert at.query_params["mode"] == "cram" and at.query_params["lang"] == "en"
