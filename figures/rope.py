"""Figures of the RoPE demo. Pure: numbers and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.attention import _grid
from figures.style import COLORSCALE, DIVERGING, PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}


def pair_circles(points: np.ndarray, titles: Sequence[str], *, title: str, pos_title: str) -> go.Figure:
    """points (P, L, 2): each chosen pair's rotated unit vector at positions 0..L-1, one circle per pair,
    coloured by position."""
    P, L, _ = points.shape
    layout, refs = _grid(1, P, titles, hspace=0.03)
    circle = np.linspace(0, 2 * np.pi, 120)
    data = []
    for j, (xr, yr) in enumerate(refs):
        data.append(go.Scatter(x=np.cos(circle), y=np.sin(circle), xaxis=xr, yaxis=yr, mode="lines",
                               line={"color": "#cbd2dc", "width": 1}, hoverinfo="skip", showlegend=False))
        data.append(go.Scatter(x=np.round(points[j, :, 0], 4), y=np.round(points[j, :, 1], 4), xaxis=xr, yaxis=yr,
                               mode="markers+lines", line={"color": "rgba(120,130,150,0.35)", "width": 1},
                               marker={"size": 7, "color": np.arange(L), "colorscale": COLORSCALE,
                                       "showscale": j == P - 1, "cmin": 0, "cmax": max(L - 1, 1),
                                       "colorbar": {"title": {"text": pos_title}, "thickness": 12}},
                               customdata=np.arange(L), showlegend=False,
                               hovertemplate=f"{pos_title} %{{customdata}}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>"))
        data.append(go.Scatter(x=[0, points[j, -1, 0]], y=[0, points[j, -1, 1]], xaxis=xr, yaxis=yr, mode="lines",
                               line={"color": PALETTE[1], "width": 3}, hoverinfo="skip", showlegend=False))
        layout[f"xaxis{xr[1:]}"].update({"range": [-1.2, 1.2], "showticklabels": False, "zeroline": True})
        layout[f"yaxis{yr[1:]}"].update({"range": [-1.2, 1.2], "showticklabels": False, "zeroline": True,
                                         "scaleanchor": xr, "scaleratio": 1})
    fig = go.Figure(data=data, layout=layout)
    return style(fig, title, height=360)


def distance_plot(delta: np.ndarray, series: dict[str, np.ndarray], *, title: str, x_title: str,
                  y_title: str) -> go.Figure:
    fig = go.Figure()
    for j, (name, ys) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=delta, y=np.round(ys, 4), mode="lines", name=name,
                                 line={"width": 3 if j == 0 else 2, "color": PALETTE[j % len(PALETTE)]},
                                 hovertemplate=f"Δ = %{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, type="log")
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(legend=LEGEND_TOP)
    return style(fig, title, height=430)


def shift_heatmaps(a: np.ndarray, b: np.ndarray, labels: Sequence[str], *, titles: tuple[str, str], title: str,
                   value: str) -> go.Figure:
    """Two (T, T) score matrices side by side (NaN above the diagonal = masked)."""
    layout, refs = _grid(1, 2, list(titles), hspace=0.08)
    zmax = float(np.nanmax(np.abs(np.concatenate([a, b])))) or 1.0
    data = []
    for j, (m, (xr, yr)) in enumerate(zip((a, b), refs, strict=True)):
        data.append(go.Heatmap(z=np.round(m, 4), xaxis=xr, yaxis=yr, colorscale=DIVERGING, reversescale=True,
                               zmin=-zmax, zmax=zmax, showscale=j == 1, xgap=1, ygap=1,
                               colorbar={"title": {"text": value}, "thickness": 12},
                               hovertemplate="q %{y} · k %{x}<br>%{z:.4f}<extra></extra>"))
        ax = {"tickvals": list(range(len(labels))), "ticktext": list(labels), "tickfont": {"size": 12}}
        layout[f"xaxis{xr[1:]}"].update(ax)
        layout[f"yaxis{yr[1:]}"].update({**ax, "autorange": "reversed"})
    return style(go.Figure(data=data, layout=layout), title, height=460)


def extrapolation_bars(models: Sequence[str], multiples: Sequence[int], values: dict[str, list[float | None]], *,
                       title: str, x_title: str, y_title: str, na_label: str, cap: float) -> go.Figure:
    """Perplexity per model (group) and length multiple (bar); None is drawn as a hatched stub with a label."""
    fig = go.Figure()
    for j, m in enumerate(multiples):
        ys = [values[name][j] for name in models]
        shown = [min(v, cap) if v is not None else 0 for v in ys]
        text = [f"{v:.1f}" if v is not None else na_label for v in ys]
        fig.add_trace(go.Bar(x=list(models), y=shown, name=f"{m}×", text=text, textposition="outside",
                             marker_color=PALETTE[j % len(PALETTE)], cliponaxis=False,
                             hovertemplate=f"%{{x}}, {m}×: %{{text}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, range=[0, cap * 1.15])
    fig.update_layout(barmode="group", legend=LEGEND_TOP)
    return style(fig, title, height=440)


def loss_curves(curves: dict[str, np.ndarray], train_len: int, *, title: str, x_title: str, y_title: str,
                trained_label: str, smooth: int = 16) -> go.Figure:
    """Loss per position (moving average over `smooth` positions), a line at the trained length."""
    fig = go.Figure()
    for j, (name, loss) in enumerate(curves.items()):
        k = max(1, min(smooth, len(loss)))
        sm = np.convolve(loss, np.ones(k) / k, mode="valid")
        x = np.arange(len(sm)) + k // 2
        fig.add_trace(go.Scatter(x=x, y=np.round(sm, 4), mode="lines", name=name,
                                 line={"width": 2.5, "color": PALETTE[j % len(PALETTE)]},
                                 hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.add_vline(x=train_len, line={"dash": "dash", "color": "#1d2330", "width": 2})
    fig.add_annotation(x=train_len, y=1.0, yref="paper", text=trained_label, showarrow=False, xanchor="left",
                       yanchor="top", font={"size": 13}, bgcolor="rgba(255,255,255,0.8)")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return style(fig, title, height=440)
