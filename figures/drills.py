"""Figures of the coding-drills page: the learner's result beside ours. Pure: lists of numbers
(from the grader's result["figures"]) and caller-translated titles in, plotly figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.style import COLORSCALE, DIVERGING, style


def side_by_side(yours: Sequence[Sequence[float]], ours: Sequence[Sequence[float]], titles: Sequence[str],
                 title: str, *, zmin: float | None = None, zmax: float | None = None,
                 x_title: str = "", y_title: str = "") -> go.Figure:
    """Three heatmaps: yours, ours, and yours − ours (diverging, centred on 0)."""
    a, b = np.asarray(yours, dtype=float), np.asarray(ours, dtype=float)
    diff = a - b if a.shape == b.shape else np.zeros_like(b)
    lim = max(float(np.abs(diff).max()), 0.05)          # an all-zero difference shows as plain white
    fig = make_subplots(rows=1, cols=3, subplot_titles=list(titles), horizontal_spacing=0.07)
    for col, (z, scale, lo, hi) in enumerate(((a, COLORSCALE, zmin, zmax), (b, COLORSCALE, zmin, zmax),
                                              (diff, DIVERGING, -lim, lim)), start=1):
        fig.add_trace(go.Heatmap(z=z, colorscale=scale, zmin=lo, zmax=hi, showscale=col in (2, 3),
                                 colorbar={"x": 0.635 if col == 2 else 1.0, "len": 0.8, "thickness": 10},
                                 hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(autorange="reversed", title_text=y_title if col == 1 else "", row=1, col=col)
        fig.update_xaxes(title_text=x_title, row=1, col=col)
    return style(fig, title, height=340)
