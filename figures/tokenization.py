"""Figures of the tokenization demo. Pure: data and caller-translated texts in."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from figures.style import PALETTE, style


def pair_bars(labels: Sequence[str], values: Sequence[float], chosen: int, *, title: str, x_title: str,
              fmt: str = ",d", top: int = 15) -> go.Figure:
    """Horizontal bars of candidate pairs (best first, at most `top`); the chosen one in red."""
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))[:top]
    if chosen not in order:
        order = order[:-1] + [chosen]
    ys = [labels[i] for i in order]
    xs = [values[i] for i in order]
    colors = [PALETTE[1] if i == chosen else "#9aa5b8" for i in order]
    text = [format(v, fmt) for v in xs]
    fig = go.Figure(go.Bar(x=xs, y=ys, orientation="h", marker_color=colors, text=text, textposition="outside",
                           hovertemplate=f"%{{y}}<br>{x_title}: %{{x:{fmt}}}<extra></extra>", cliponaxis=False))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=x_title, rangemode="tozero")
    style(fig, title, height=max(260, 90 + 30 * len(order)))
    fig.update_yaxes(automargin=True)
    fig.update_layout(margin={"r": 70})
    return fig


def count_vs_score(labels: Sequence[str], counts: Sequence[int], scores: Sequence[float], bpe_pick: int,
                   wp_pick: int, *, title: str, x_title: str, y_title: str, bpe_label: str, wp_label: str,
                   other_label: str) -> go.Figure:
    """Every candidate pair at one step: frequency (BPE's criterion) vs likelihood score (WordPiece's)."""
    fig = go.Figure()
    others = [i for i in range(len(labels)) if i not in (bpe_pick, wp_pick)]
    fig.add_trace(go.Scatter(x=[counts[i] for i in others], y=[scores[i] for i in others], mode="markers",
                             name=other_label, marker={"size": 10, "color": "#9aa5b8"},
                             text=[labels[i] for i in others],
                             hovertemplate=f"%{{text}}<br>{x_title}: %{{x}}<br>{y_title}: %{{y:.4f}}<extra></extra>"))
    for idx, name, color, symbol in ((bpe_pick, bpe_label, PALETTE[0], "square"), (wp_pick, wp_label, PALETTE[1], "star")):
        fig.add_trace(go.Scatter(x=[counts[idx]], y=[scores[idx]], mode="markers+text", name=name,
                                 marker={"size": 18, "color": color, "symbol": symbol}, text=[labels[idx]],
                                 textposition="top center", textfont={"size": 15, "color": color},
                                 hovertemplate=f"{name}: %{{text}}<br>{x_title}: %{{x}}<br>{y_title}: %{{y:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, rangemode="tozero")
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=460)
