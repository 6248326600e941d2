"""Every page renders in both languages with no exception (streamlit.testing AppTest)."""
from __future__ import annotations

import pytest

from i18n import t
from tests.apptest import open_page
from ui.nav import PAGES


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_id", [p.id for p in PAGES])
def test_page_renders(page_id: str, lang: str) -> None:
    at = open_page(page_id, lang)
    titles = [e.value for e in at.title]
    assert t(f"common.page_{page_id}", lang) in titles
