"""Figures of the sampling demo. Pure: numbers and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}


def distribution(tokens: Sequence[str], p0: np.ndarray, p: np.ndarray, kept: np.ndarray, *, title: str,
                 raw_label: str, kept_label: str, cut_label: str, y_title: str) -> go.Figure:
    """The top tokens: raw probability (outline) and the filtered probability (filled, kept tokens
    coloured, cut ones grey)."""
    x = list(range(len(tokens)))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=np.round(p0, 5), name=raw_label, marker={"color": "rgba(0,0,0,0)",
                         "line": {"color": "#1d2330", "width": 1.5}}, hovertemplate="%{customdata}: %{y:.4f}<extra></extra>",
                         customdata=list(tokens)))
    colors = [PALETTE[0] if k else "#c3c9d2" for k in kept]
    fig.add_trace(go.Bar(x=x, y=np.round(p, 5), name=kept_label, marker_color=colors, customdata=list(tokens),
                         hovertemplate="%{customdata}: %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Bar(x=[None], y=[None], name=cut_label, marker_color="#c3c9d2"))
    fig.update_xaxes(tickvals=x, ticktext=list(tokens), tickfont={"size": 15})
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(barmode="overlay", legend=LEGEND_TOP, bargap=0.15)
    return style(fig, title, height=420)


def cumulative(p_sorted: np.ndarray, n_kept: int, top_p: float | None, *, title: str, x_title: str,
               y_title: str, p_label: str) -> go.Figure:
    """Cumulative probability of the tokens sorted by probability; the kept prefix coloured."""
    c = np.cumsum(p_sorted)
    x = np.arange(1, len(c) + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=np.round(c, 4), mode="lines+markers", showlegend=False,
                             marker={"color": [PALETTE[0] if i < n_kept else "#c3c9d2" for i in range(len(c))], "size": 7},
                             line={"color": "#7a8699", "width": 1.5},
                             hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    if top_p is not None and top_p < 1:
        fig.add_hline(y=top_p, line={"dash": "dash", "color": PALETTE[1], "width": 2})
        fig.add_annotation(x=1, xref="paper", y=top_p, text=p_label, showarrow=False, xanchor="right", yanchor="bottom",
                           font={"color": PALETTE[1], "size": 14})
    fig.update_xaxes(title_text=x_title, type="log")
    fig.update_yaxes(title_text=y_title, range=[0, 1.05])
    return style(fig, title, height=360)
