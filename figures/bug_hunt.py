"""Figures of the bug-hunt page. Pure: numbers and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from figures.style import PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}


def loss_plot(runs: dict[str, Sequence[tuple[int, float, float]]], *, title: str, x_title: str, y_title: str,
              train_label: str, val_label: str) -> go.Figure:
    """Train (solid) and held-out (dotted) loss of each run; the first run is the one under study."""
    fig = go.Figure()
    for j, (name, hist) in enumerate(runs.items()):
        steps = [r[0] for r in hist]
        color = PALETTE[1] if j == 0 else "#7a8699"
        for k, (lab, dash) in enumerate(((train_label, "solid"), (val_label, "dot"))):
            fig.add_trace(go.Scatter(x=steps, y=[r[1 + k] for r in hist], mode="lines", name=f"{name} · {lab}",
                                     line={"color": color, "width": 3 if j == 0 else 2, "dash": dash},
                                     hovertemplate=f"{name} · {lab}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=430)
