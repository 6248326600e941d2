"""One consistent, projector-friendly style for every figure."""
from __future__ import annotations

import plotly.graph_objects as go

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
FONT_SIZE = 16
COLORSCALE = "Viridis"
DIVERGING = "RdBu"
PALETTE = ["#1f5fa8", "#d1495b", "#2e9e6a", "#edae49", "#7b4fa0", "#00798c", "#6c757d", "#ff7f0e"]


def style(fig: go.Figure, title: str | None = None, *, height: int = 460) -> go.Figure:
    """Apply the house style in place and return the figure."""
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#1d2330"},
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": FONT_SIZE + 4}} if title else None,
        colorway=PALETTE,
        height=height,
        margin={"l": 60, "r": 30, "t": 70 if title else 30, "b": 60},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": FONT_SIZE - 1}},
        legend={"font": {"size": FONT_SIZE - 2}},
    )
    return fig


def download_config(filename: str) -> dict:
    """Plotly toolbar config: PNG download at a projector-friendly size."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "width": 1600, "height": 900, "scale": 1},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
