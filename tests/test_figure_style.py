"""The house figure style: the default template carries font, palette and title placement, so a
figure styled without naming a template still gets them (and a CJK-capable font first)."""
import json

import plotly.graph_objects as go
import plotly.io as pio

from figures.style import FONT_FAMILY, HOUSE_TEMPLATE, PALETTE, style


def _layout(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())["layout"]


def test_default_template_is_the_house_template():
    assert pio.templates.default == HOUSE_TEMPLATE
    tl = _layout(style(go.Figure(go.Bar(y=[1, 2])), "Titel 标题"))["template"]["layout"]
    assert tl["font"]["family"] == FONT_FAMILY and FONT_FAMILY.startswith('"Noto Sans CJK SC"')
    assert tl["colorway"] == PALETTE
    assert tl["title"] == {"x": 0.0, "xanchor": "left", "font": {"size": 20}}
    # plotly_white underneath: white plot background
    assert tl["plot_bgcolor"] == "white"


def test_style_sets_title_height_and_margin_only():
    lay = _layout(style(go.Figure(), "T", height=333))
    assert lay["title"] == {"text": "T"} and lay["height"] == 333 and lay["margin"]["t"] == 70
    lay = _layout(style(go.Figure()))
    assert not lay.get("title") and lay["margin"]["t"] == 30
