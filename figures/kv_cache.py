"""Figures of the KV-cache demo. Pure: numbers and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.attention import _grid, label
from figures.style import DIVERGING, PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}


def cache_matrices(k: np.ndarray, v: np.ndarray, tokens: Sequence[str], n_new: int, *, title: str,
                   k_title: str, v_title: str, layer_label: str, dim_title: str, pos_title: str) -> go.Figure:
    """K and V of every layer, (layers, T, d) each (heads concatenated), as heatmaps: rows are the cached
    positions, the last `n_new` rows (added by this step) are outlined."""
    k, v = np.asarray(k, dtype=np.float64), np.asarray(v, dtype=np.float64)
    n_layers, T, d = k.shape
    titles = [f"{layer_label} {i + 1} · {name}" for i in range(n_layers) for name in (k_title, v_title)]
    layout, refs = _grid(n_layers, 2, titles, hspace=0.08, vspace=0.12 if n_layers > 1 else 0.1)
    zmax = float(max(np.abs(k).max(), np.abs(v).max(), 1e-6))
    ticks = [label(t) for t in tokens]
    shapes, data = [], []
    for i in range(n_layers):
        for j, m in enumerate((k[i], v[i])):
            xr, yr = refs[2 * i + j]
            data.append(go.Heatmap(z=np.round(m, 3), xaxis=xr, yaxis=yr, colorscale=DIVERGING, reversescale=True,
                                   zmin=-zmax, zmax=zmax, showscale=(i == 0 and j == 1),
                                   colorbar={"thickness": 12, "len": 0.5, "y": 1.0, "yanchor": "top"},
                                   hovertemplate=f"{pos_title} %{{y}}<br>{dim_title} %{{x}}<br>%{{z:.3f}}<extra></extra>"))
            layout[f"yaxis{yr[1:]}"].update({"autorange": "reversed", "tickvals": list(range(T)),
                                             "ticktext": [f"{t} {p}" for p, t in enumerate(ticks)],
                                             "tickfont": {"size": 11}})
            layout[f"xaxis{xr[1:]}"].update({"showticklabels": False})
            if n_new:
                shapes.append({"type": "rect", "xref": xr, "yref": yr, "x0": -0.5, "x1": d - 0.5,
                               "y0": T - n_new - 0.5, "y1": T - 0.5, "line": {"color": PALETTE[3], "width": 3}})
    fig = go.Figure(data=data, layout=layout)
    fig.update_layout(shapes=shapes)
    return style(fig, title, height=int(min(1100, 140 + n_layers * max(200, 16 * T))))


def timing_plot(lengths: Sequence[int], cached: Sequence[float], uncached: Sequence[float], *, title: str,
                x_title: str, y_title: str, cached_label: str, uncached_label: str) -> go.Figure:
    fig = go.Figure()
    for j, (name, ys) in enumerate(((uncached_label, uncached), (cached_label, cached))):
        fig.add_trace(go.Scatter(x=list(lengths), y=list(ys), mode="lines+markers", name=name,
                                 line={"width": 3, "color": PALETTE[1 - j]}, marker={"size": 8},
                                 hovertemplate=f"T = %{{x}}<br>{name}: %{{y:.2f}} ms<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(legend=LEGEND_TOP)
    return style(fig, title, height=420)


def memory_plot(T: np.ndarray, series: dict[str, np.ndarray], current: int, *, title: str, x_title: str,
                y_title: str, current_label: str) -> go.Figure:
    fig = go.Figure()
    for j, (name, vals) in enumerate(series.items()):
        # equal configs (Llama-3-8B and Mistral-7B) overlap: alternate dashes keep both visible
        fig.add_trace(go.Scatter(x=T, y=vals, mode="lines", name=name,
                                 line={"width": 3, "color": PALETTE[j % len(PALETTE)], "dash": ("solid", "dash")[j % 2]},
                                 hovertemplate=f"T = %{{x:,}}<br>{name}: %{{y:.3s}}B<extra></extra>"))
    for gib, lab in ((2 ** 30, "1 GiB"), (80 * 2 ** 30, "80 GiB")):
        fig.add_hline(y=gib, line={"dash": "dot", "color": "#7a8699", "width": 1.5})
        fig.add_annotation(x=0, xref="paper", y=float(np.log10(gib)), text=lab, showarrow=False, xanchor="left",
                           yanchor="bottom", font={"size": 13, "color": "#7a8699"})
    fig.add_vline(x=current, line={"dash": "dot", "color": "#1d2330", "width": 2})
    fig.add_annotation(x=np.log10(current), y=1.0, yref="paper", text=current_label, showarrow=False,
                       xanchor="left", yanchor="top", font={"size": 14}, bgcolor="rgba(255,255,255,0.8)")
    fig.update_xaxes(title_text=x_title, type="log")
    fig.update_yaxes(title_text=y_title, type="log", exponentformat="SI")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=480)


def roofline(peak: float, bandwidth: float, points: dict[str, float], *, title: str, x_title: str, y_title: str,
             ridge_label: str) -> go.Figure:
    """Attainable FLOP/s = min(peak, bandwidth × intensity), log-log, with labelled workload points."""
    x = np.geomspace(0.1, 10_000, 200)
    y = np.minimum(peak, bandwidth * x)
    fig = go.Figure(go.Scatter(x=x, y=y / 1e12, mode="lines", line={"width": 3, "color": "#1d2330"}, showlegend=False,
                               hovertemplate="%{x:.3g} FLOP/B → %{y:.3g} TFLOP/s<extra></extra>"))
    ridge = peak / bandwidth
    fig.add_vline(x=ridge, line={"dash": "dash", "color": "#7a8699", "width": 1.5})
    fig.add_annotation(x=np.log10(ridge), y=np.log10(peak / 1e12), text=ridge_label, showarrow=False, xanchor="left",
                       yanchor="bottom", font={"size": 13, "color": "#4a5568"})
    for j, (name, inten) in enumerate(points.items()):
        att = min(peak, bandwidth * inten) / 1e12
        fig.add_trace(go.Scatter(x=[inten], y=[att], mode="markers", name=name,
                                 marker={"size": 15, "color": PALETTE[j % len(PALETTE)], "line": {"width": 1, "color": "white"}},
                                 hovertemplate=f"{name}<br>%{{x:.3g}} FLOP/B<br>%{{y:.3g}} TFLOP/s<extra></extra>"))
    fig.update_xaxes(title_text=x_title, type="log")
    fig.update_yaxes(title_text=y_title, type="log")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=480)
