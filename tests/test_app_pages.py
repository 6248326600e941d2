"""Every page renders in both languages with no exception (streamlit.testing AppTest)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from i18n import t
from ui.nav import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def render(page_id: str, lang: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page_id != "home":
        at.switch_page(f"pages/{page_id}.py")
        at.run()
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_id", [p.id for p in PAGES])
def test_page_renders(page_id: str, lang: str) -> None:
    at = render(page_id, lang)
    assert not at.exception, [e.value for e in at.exception]
    titles = [e.value for e in at.title]
    assert t(f"common.page_{page_id}", lang) in titles
