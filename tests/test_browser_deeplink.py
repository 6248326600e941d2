"""Deep links reproduce a figure exactly: the plotly data in the browser equals the Python builder's,
and the same link on two freshly started servers gives identical figures.
"""
from __future__ import annotations

import numpy as np
import pytest

from demos.positional_encoding import pe_table
from figures import positional_encoding as F
from i18n import t
from tests.browser import chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser

LINK = "/positional_encoding?lang=en&section=heatmap&d_model=32&length=20"

READ_FIGURE = """() => {
    const gd = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
    if (!gd || !gd.data) return null;
    const plain = (v) => (v && typeof v === 'object' && typeof v.length === 'number')
        ? Array.from(v, plain) : v;
    return {
        traces: gd._fullData.map((tr) => ({type: tr.type, z: plain(tr.z), x: plain(tr.x), y: plain(tr.y)})),
        title: gd.layout.title && gd.layout.title.text,
        xtitle: gd.layout.xaxis && gd.layout.xaxis.title && gd.layout.xaxis.title.text,
        ytitle: gd.layout.yaxis && gd.layout.yaxis.title && gd.layout.yaxis.title.text,
        font: gd._fullLayout.font.family,
    };
}"""


def read_figure(base: str, ctx, shot=None) -> dict:
    page = ctx.new_page()
    page.goto(base + LINK)
    wait_rendered(page)
    page.wait_for_function("() => { const gd = document.querySelector('[data-testid=\"stMain\"] .js-plotly-plot');"
                           " return !!(gd && gd.data && gd._fullLayout); }", timeout=30000)
    page.wait_for_timeout(500)
    fig = page.evaluate(READ_FIGURE)
    assert fig is not None
    assert "d_model=32" in page.url and "length=20" in page.url and "section=heatmap" in page.url
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    page.close()
    return fig


def test_deep_link_reproduces_figure(artifacts):
    shots = artifacts / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    expected = F.pe_heatmap(pe_table(20, 32), title=t("demo_pe.heatmap_title", "en", length=20, d=32),
                            x_title="x", y_title="y", value="v")
    want_z = np.asarray(expected.data[0].z, dtype=float)
    assert want_z.shape == (20, 32)

    figures = []
    for run in range(2):   # two freshly started servers
        with streamlit_server() as base, chromium() as ctx:
            figures.append(read_figure(base, ctx, shots / f"deeplink-run{run}.png"))

    first = figures[0]
    assert len(first["traces"]) == 1 and first["traces"][0]["type"] == "heatmap"
    got_z = np.asarray(first["traces"][0]["z"], dtype=float)
    assert got_z.shape == (20, 32)
    np.testing.assert_array_equal(got_z, want_z)
    # position 0: sin(0) = 0 on even dims, cos(0) = 1 on odd dims
    assert got_z[0, 0] == 0.0 and got_z[0, 1] == 1.0
    assert first["title"] == expected.layout.title.text
    assert "Noto Sans CJK SC" in first["font"]
    assert figures[0] == figures[1]
