"""Figures of the Residuals & gradients demo. Pure: arrays and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.style import PALETTE, style


def first_layer_vs_depth(depths: np.ndarray, plain: np.ndarray, residual: np.ndarray, chosen: int, *,
                         title: str, x_title: str, y_title: str, plain_name: str, residual_name: str) -> go.Figure:
    """‖∂L/∂W_1‖ against depth on a log axis, with and without residual connections."""
    fig = go.Figure()
    for y, name, color in ((residual, residual_name, PALETTE[0]), (plain, plain_name, PALETTE[1])):
        fig.add_trace(go.Scatter(
            x=depths, y=y, mode="lines+markers", name=name, line={"width": 3, "color": color},
            marker={"size": 7}, hovertemplate=f"{name}<br>{x_title} %{{x}}<br>{y_title} %{{y:.3g}}<extra></extra>",
        ))
    fig.add_vline(x=chosen, line={"dash": "dot", "color": "#555", "width": 2})
    fig.update_xaxes(title_text=x_title, dtick=2)
    fig.update_yaxes(title_text=y_title, type="log", exponentformat="power", dtick=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=440)


def per_layer(series: Sequence[np.ndarray], names: Sequence[str], *, title: str, x_title: str, y_title: str,
              log: bool = True) -> go.Figure:
    """Gradient norm of every layer (layer 1 = nearest the input) for a few variants."""
    fig = go.Figure()
    for i, (y, name) in enumerate(zip(series, names, strict=True)):
        x = np.arange(1, len(y) + 1)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name=name, line={"width": 3, "color": PALETTE[i % len(PALETTE)]},
            marker={"size": 7}, hovertemplate=f"{name}<br>{x_title} %{{x}}<br>{y_title} %{{y:.3g}}<extra></extra>",
        ))
    fig.update_xaxes(title_text=x_title, tickmode="linear", dtick=1 if len(series[0]) <= 16 else 2)
    fig.update_yaxes(title_text=y_title, type="log" if log else "linear", exponentformat="power",
                     rangemode="tozero" if not log else None, dtick=1 if log else None)
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=420)


def dependence(k: np.ndarray, rnn: np.ndarray, attention: np.ndarray, *, title: str, x_title: str,
               y_title: str, rnn_name: str, attention_name: str) -> go.Figure:
    """‖∂y_t/∂x_{t−k}‖ against k on a log axis for the RNN and for self-attention."""
    fig = go.Figure()
    for y, name, color, dash in ((rnn, rnn_name, PALETTE[1], "solid"), (attention, attention_name, PALETTE[0], "solid")):
        fig.add_trace(go.Scatter(
            x=k, y=np.maximum(y, 1e-30), mode="lines+markers", name=name, line={"width": 3, "color": color, "dash": dash},
            marker={"size": 6}, hovertemplate=f"{name}<br>{x_title} %{{x}}<br>{y_title} %{{y:.3g}}<extra></extra>",
        ))
    fig.update_xaxes(title_text=x_title, dtick=4)
    fig.update_yaxes(title_text=y_title, type="log", exponentformat="power")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=440)


def path_diagram(n: int, *, title: str, rnn_name: str, attention_name: str, token: str,
                 steps_text: str) -> go.Figure:
    """Two rows of n tokens: the RNN path from x_1 to x_n takes n−1 hops, attention's takes 1."""
    fig = go.Figure()
    xs = np.arange(1, n + 1)
    rows = ((1.0, PALETTE[1], rnn_name, n - 1, 1.42), (0.0, PALETTE[0], attention_name, 1, -0.5))
    for y, color, name, steps, label_y in rows:
        fig.add_trace(go.Scatter(
            x=xs, y=[y] * n, mode="markers+text", text=[f"{token}{i}" for i in xs], textposition="bottom center",
            marker={"size": 26, "color": "white", "line": {"width": 3, "color": color}}, name=name,
            hovertemplate=f"{name}: {token}%{{x}}<extra></extra>", showlegend=False,
        ))
        fig.add_annotation(x=0.75, y=label_y, text=f"<b>{name}</b>: {steps_text.format(steps=steps)}",
                           showarrow=False, xanchor="left", font={"color": color})
    for i in range(1, n):                       # RNN: a chain of n−1 hops
        fig.add_annotation(x=i + 1 - 0.18, y=1.0, ax=i + 0.18, ay=1.0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowwidth=2.5, arrowcolor=PALETTE[1], text="")
    # attention: one direct edge from x_1 to x_n, drawn as an arc
    t = np.linspace(0, 1, 60)
    fig.add_trace(go.Scatter(x=1 + (n - 1) * t, y=0.1 + 0.45 * np.sin(np.pi * t), mode="lines",
                             line={"width": 3, "color": PALETTE[0]}, hoverinfo="skip", showlegend=False))
    fig.update_xaxes(visible=False, range=[0.5, n + 0.5])
    fig.update_yaxes(visible=False, range=[-0.7, 1.6])
    return style(fig, title, height=340)


def path_length(distance: np.ndarray, rnn: np.ndarray, attention: np.ndarray, *, title: str, x_title: str,
                y_title: str, rnn_name: str, attention_name: str) -> go.Figure:
    fig = go.Figure()
    for y, name, color in ((rnn, rnn_name, PALETTE[1]), (attention, attention_name, PALETTE[0])):
        fig.add_trace(go.Scatter(x=distance, y=y, mode="lines+markers", name=name, line={"width": 3, "color": color},
                                 hovertemplate=f"{name}<br>{x_title} %{{x}}<br>{y_title} %{{y}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.3})
    return style(fig, title, height=320)


def ln_panels(post: np.ndarray, pre: np.ndarray, depths: np.ndarray, post_last: np.ndarray, pre_last: np.ndarray,
              chosen: int, *, title: str, names: Sequence[str], layer_title: str, depth_title: str,
              y_title: str, post_name: str, pre_name: str) -> go.Figure:
    """Left: per-layer gradient norms at the chosen depth; right: the last layer's against depth."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(names), horizontal_spacing=0.1)
    layers = np.arange(1, len(post) + 1)
    for col, (x, a, b, xt) in enumerate(((layers, post, pre, layer_title), (depths, post_last, pre_last, depth_title)),
                                        start=1):
        for y, name, color in ((a, post_name, PALETTE[1]), (b, pre_name, PALETTE[0])):
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers", name=name, legendgroup=name, showlegend=col == 1,
                line={"width": 3, "color": color}, marker={"size": 7},
                hovertemplate=f"{name}<br>{xt} %{{x}}<br>{y_title} %{{y:.3f}}<extra></extra>",
            ), row=1, col=col)
        fig.update_xaxes(title_text=xt, row=1, col=col)
        fig.update_yaxes(title_text=y_title if col == 1 else None, rangemode="tozero", row=1, col=col)
    fig.add_vline(x=chosen, line={"dash": "dot", "color": "#555", "width": 2}, row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=450)
