"""The shell's share of issue 18: a guest's name in the page language, the charts' text
alternative (ui.plot.alt_text), the document language and the house CSS on every page."""
from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from i18n import t
from tests.apptest import open_page


@pytest.mark.parametrize("lang, word", [("zh", "访客"), ("en", "Guest")])
def test_guest_name_in_page_language(lang, word, tmp_path, monkeypatch):
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    at = open_page("home", lang)
    progress = at.subheader[0].value
    assert re.search(rf"{word} \d{{5}}", progress), progress
    assert ("Guest" in progress) == (lang == "en")
    # the stored name (and the URL's ?learner=) stays "Guest N": only its display changes
    assert at.query_params["learner"].startswith("Guest ")
    # alone on the store: the name in the sidebar, not a one-option picker
    assert not at.selectbox and any(re.search(rf"{word} \d{{5}}", c.value) for c in at.sidebar.caption)


@pytest.mark.parametrize("lang, code", [("zh", "zh-CN"), ("en", "en")])
def test_document_language_and_base_css(lang, code, tmp_path, monkeypatch):
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    at = open_page("home", lang)
    bodies = [h.proto.body for h in at.get("html")]
    assert any(f"document.documentElement.lang = '{code}'" in b for b in bodies)
    assert any('[data-testid="stMain"]:focus-visible { outline: none' in b for b in bodies)


def _alt(lang: str, fig: go.Figure, name: str = "x", summary: str | None = None) -> str:
    from ui import plot, shell

    shell.st.session_state[shell.LANG_KEY] = lang
    return plot.alt_text(fig, name, summary)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_alt_text_names_title_kind_and_axes(lang):
    heat = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
    heat.update_layout(title="<b>Attention</b><br>head 0", xaxis_title="key", yaxis_title="query")
    alt = _alt(lang, heat)
    assert alt.startswith("Attention head 0")
    assert t("common.chart_kind_heatmap", lang) in alt and "key" in alt and "query" in alt
    lines = make_subplots(rows=1, cols=2)
    lines.add_scatter(y=[1, 2], mode="lines", row=1, col=1)
    lines.add_bar(y=[1, 2], row=1, col=2)
    alt = _alt(lang, lines, "loss_curves")
    assert alt.startswith("loss curves")  # no title: the chart's name
    assert t("common.chart_kind_line", lang) in alt and t("common.chart_kind_bar", lang) in alt
    assert t("common.chart_series", lang, n=2) in alt
    assert _alt(lang, heat, summary="S") == t("common.chart_alt", lang, title="Attention head 0", summary="S")
