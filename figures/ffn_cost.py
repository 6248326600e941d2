"""Figures of the FFN & cost demo. Pure: numbers and caller-translated texts in."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}


def ffn_diagram(d: int, d_ff: int, *, title: str, in_label: str, hidden_label: str, out_label: str,
                w1_label: str, w2_label: str) -> go.Figure:
    """Three bars whose heights are proportional to d, d_ff, d, with the two weight matrices between."""
    h_in, h_hid = 1.0, d_ff / d
    xs = (0.0, 1.5, 3.0)
    heights = (h_in, h_hid, h_in)
    colors = (PALETTE[0], PALETTE[3], PALETTE[0])
    labels = (f"{in_label}<br>{d}", f"{hidden_label}<br>{d_ff}", f"{out_label}<br>{d}")
    # shapes and annotations go in at once: plotly re-validates the whole list on every add_*
    shapes, notes = [], []
    for x, h, c, lab in zip(xs, heights, colors, labels, strict=True):
        shapes.append({"type": "rect", "x0": x - 0.25, "x1": x + 0.25, "y0": -h / 2, "y1": h / 2, "fillcolor": c,
                       "opacity": 0.85, "line": {"width": 0}})
        notes.append({"x": x, "y": -h / 2 - 0.15, "text": lab, "showarrow": False, "yanchor": "top",
                      "font": {"size": 16}})
    for x0, x1, lab, params in ((xs[0], xs[1], w1_label, d * d_ff + d_ff), (xs[1], xs[2], w2_label, d_ff * d + d)):
        notes.append({"x": x1 - 0.3, "y": 0, "ax": x0 + 0.3, "ay": 0, "xref": "x", "yref": "y", "axref": "x",
                      "ayref": "y", "showarrow": True, "arrowhead": 3, "arrowsize": 1.5, "arrowwidth": 2.5,
                      "arrowcolor": "#1d2330"})
        notes.append({"x": (x0 + x1) / 2, "y": 0.12, "text": f"{lab}<br>{params:,}", "showarrow": False,
                      "yanchor": "bottom", "font": {"size": 15}})
    fig = go.Figure(layout={"shapes": shapes, "annotations": notes})
    # invisible points give hover values
    fig.add_trace(go.Scatter(x=list(xs), y=[0, 0, 0], mode="markers", marker={"opacity": 0},
                             text=[in_label, hidden_label, out_label], customdata=[d, d_ff, d],
                             hovertemplate="%{text}: %{customdata}<extra></extra>", showlegend=False))
    top = h_hid / 2 + 0.3
    fig.update_xaxes(visible=False, range=[-0.8, 3.8])
    fig.update_yaxes(visible=False, range=[-top - 0.5, top])
    return style(fig, title, height=380)


def param_bars(groups: Sequence[str], parts: dict[str, Sequence[int]], *, title: str, y_title: str) -> go.Figure:
    """Stacked bars: for each group (encoder layer, decoder layer) its parameters per part."""
    fig = go.Figure()
    for j, (name, vals) in enumerate(parts.items()):
        fig.add_trace(go.Bar(x=list(groups), y=list(vals), name=name, marker_color=PALETTE[j % len(PALETTE)],
                             text=[f"{v:,}" if v else "" for v in vals], textposition="inside",
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:,}}<extra></extra>"))
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(barmode="stack", legend={**LEGEND_TOP, "traceorder": "normal"})
    style(fig, title, height=440)
    fig.update_layout(margin={"t": 110})
    return fig


def flops_plot(n: np.ndarray, parts: dict[str, np.ndarray], current: int, cross: int, *, title: str,
               x_title: str, y_title: str, cross_label: str, current_label: str) -> go.Figure:
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "solid", "dashdot"]
    for j, (name, vals) in enumerate(parts.items()):
        fig.add_trace(go.Scatter(x=n, y=vals, mode="lines", name=name,
                                 line={"width": 3 if j < 4 else 5, "color": PALETTE[j % len(PALETTE)], "dash": dashes[j % 5]},
                                 hovertemplate=f"n = %{{x:,}}<br>{name}: %{{y:.3s}}FLOPs<extra></extra>"))
    fig.add_vline(x=cross, line={"dash": "dash", "color": PALETTE[1], "width": 2})
    fig.add_annotation(x=np.log10(cross), y=1.0, yref="paper", text=cross_label, showarrow=False,
                       xanchor="left", yanchor="top", font={"color": PALETTE[1], "size": 15}, bgcolor="rgba(255,255,255,0.8)")
    fig.add_vline(x=current, line={"dash": "dot", "color": "#1d2330", "width": 2})
    fig.add_annotation(x=np.log10(current), y=0.0, yref="paper", text=current_label, showarrow=False,
                       xanchor="left", yanchor="bottom", font={"size": 14}, bgcolor="rgba(255,255,255,0.8)")
    fig.update_xaxes(title_text=x_title, type="log")
    fig.update_yaxes(title_text=y_title, type="log")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=500)


def share_bar(parts: dict[str, float], *, title: str, x_title: str) -> go.Figure:
    total = sum(parts.values())
    fig = go.Figure()
    for j, (name, v) in enumerate(parts.items()):
        fig.add_trace(go.Bar(y=[""], x=[v / total], name=name, orientation="h", marker_color=PALETTE[j % len(PALETTE)],
                             text=[f"{v / total:.0%}"], textposition="inside", insidetextanchor="middle",
                             hovertemplate=f"{name}: %{{x:.1%}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, tickformat=".0%", range=[0, 1])
    fig.update_layout(barmode="stack", legend={**LEGEND_TOP, "traceorder": "normal"})
    style(fig, title, height=230)
    fig.update_layout(margin={"t": 100, "b": 50})
    return fig


def memory_plot(n: np.ndarray, series: dict[str, np.ndarray], current: int, *, title: str, x_title: str,
                y_title: str, current_label: str) -> go.Figure:
    fig = go.Figure()
    for j, (name, vals) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=n, y=vals, mode="lines", name=name,
                                 line={"width": 3, "color": PALETTE[j % len(PALETTE)], "dash": "solid" if j % 2 == 0 else "dash"},
                                 hovertemplate=f"n = %{{x:,}}<br>{name}: %{{y:.3s}}B<extra></extra>"))
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
