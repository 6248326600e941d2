"""Figures of the MHA / GQA / MQA demo. Pure: numbers and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.attention import _grid, label
from figures.style import COLORSCALE, PALETTE, style


def sharing_map(n_heads: int, groups: np.ndarray, *, title: str, q_title: str, kv_title: str) -> go.Figure:
    """Query heads (columns) → the K/V head each reads (rows), one colour per K/V head."""
    g = int(groups.max()) + 1
    z = np.full((g, n_heads), np.nan)
    for j, k in enumerate(groups):
        z[k, j] = k
    colors = [PALETTE[i % len(PALETTE)] for i in range(g)]
    scale = [[0, colors[0]], [1, colors[0]]] if g == 1 else \
        [[i / (g - 1), c] for i, c in enumerate(colors)]
    fig = go.Figure(go.Heatmap(z=z, x=[f"Q{j + 1}" for j in range(n_heads)], y=[f"KV{k + 1}" for k in range(g)],
                               colorscale=scale, showscale=False, xgap=3, ygap=3, zmin=0, zmax=max(g - 1, 1),
                               hovertemplate=f"{q_title} %{{x}} → {kv_title} %{{y}}<extra></extra>"))
    fig.update_xaxes(title_text=q_title, side="top")
    fig.update_yaxes(title_text=kv_title, autorange="reversed")
    style(fig, title, height=210 + 48 * g)
    fig.update_layout(margin={"t": 130})
    return fig


def compare_bars(labels: Sequence[str], series: dict[str, Sequence[float]], *, title: str, fmt: str = ",.0f",
                 current: int | None = None) -> go.Figure:
    """One small bar chart per quantity (columns), bars = n_kv_heads options; the current one highlighted."""
    layout, refs = _grid(1, len(series), list(series), hspace=0.08)
    data = []
    for (name, vals), (xr, yr) in zip(series.items(), refs, strict=True):
        cols = [PALETTE[1] if i == current else PALETTE[0] for i in range(len(labels))]
        data.append(go.Bar(x=list(labels), y=list(vals), xaxis=xr, yaxis=yr, marker_color=cols, showlegend=False,
                           text=[format(v, fmt) for v in vals], textposition="outside", cliponaxis=False,
                           hovertemplate=f"%{{x}}<br>{name}: %{{y:{fmt}}}<extra></extra>"))
        layout[f"yaxis{yr[1:]}"].update({"rangemode": "tozero", "range": [0, max(vals) * 1.25 if max(vals) > 0 else 1]})
    return style(go.Figure(data=data, layout=layout), title, height=380)


def grouped_heads(w: np.ndarray, groups: np.ndarray, tokens: Sequence[str], *, title: str, head_label: str,
                  kv_label: str) -> go.Figure:
    """Weights (h, T, T) of one layer: one row per K/V head, its query heads side by side."""
    h = w.shape[0]
    g = int(groups.max()) + 1
    per = h // g
    titles = [f"{kv_label}{k + 1} · {head_label}{k * per + j + 1}" for k in range(g) for j in range(per)]
    layout, refs = _grid(g, per, titles, hspace=0.04, vspace=0.12 if g > 1 else 0.1)
    labs = [label(t) for t in tokens]
    data = []
    for i, (xr, yr) in enumerate(refs):
        data.append(go.Heatmap(z=np.round(w[i], 3), xaxis=xr, yaxis=yr, colorscale=COLORSCALE, zmin=0, zmax=1,
                               showscale=i == 0, colorbar={"thickness": 12, "len": 0.6, "y": 1, "yanchor": "top"},
                               hovertemplate="q %{y} · k %{x}<br>%{z:.3f}<extra></extra>"))
        show = i % per == 0
        layout[f"xaxis{xr[1:]}"].update({"showticklabels": False})
        layout[f"yaxis{yr[1:]}"].update({"autorange": "reversed", "showticklabels": show and len(labs) <= 24,
                                         "tickvals": list(range(len(labs))), "ticktext": labs,
                                         "tickfont": {"size": 10}})
        k = i // per
        layout.setdefault("shapes", []).append({
            "type": "rect", "xref": f"{xr} domain", "yref": f"{yr} domain", "x0": 0, "x1": 1, "y0": 0, "y1": 1,
            "line": {"color": PALETTE[k % len(PALETTE)], "width": 3}})
    return style(go.Figure(data=data, layout=layout), title, height=int(min(1200, 120 + g * 260)))
