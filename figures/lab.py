"""Figures of the training lab: loss and exact-match curves of several runs, overlaid."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from figures.style import PALETTE, style


def _name(r: dict) -> str:
    return r.get("legend") or r["label"]


def loss_curves(runs: Sequence[dict], *, title: str, x_title: str, y_title: str,
                height: int = 380) -> go.Figure:
    """runs: dicts with 'label' (or a shorter 'legend'), 'steps', 'losses' (one line each, log y)."""
    fig = go.Figure()
    for i, r in enumerate(runs):
        fig.add_trace(go.Scatter(
            x=list(r["steps"]), y=list(r["losses"]), mode="lines", name=_name(r),
            line={"color": PALETTE[i % len(PALETTE)], "width": 2},
            hovertemplate=f"{r['label']}<br>{x_title} %{{x}}<br>{y_title} %{{y:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, rangemode="tozero")
    fig.update_yaxes(title_text=y_title, type="log", dtick=1, exponentformat="power")
    return _legend_below(style(fig, title, height=height + 24 * len(runs)))


def _legend_below(fig: go.Figure) -> go.Figure:
    """One legend row per run under the plot (run labels are long)."""
    fig.update_layout(legend={"orientation": "v", "y": -0.22, "yanchor": "top", "x": 0, "font": {"size": 13}},
                      margin={"b": 40})
    return fig


def accuracy_curves(runs: Sequence[dict], *, title: str, x_title: str, y_title: str,
                    height: int = 380) -> go.Figure:
    """runs: dicts with 'label', 'eval_steps', 'eval_em' (exact match in [0, 1], shown in %)."""
    fig = go.Figure()
    for i, r in enumerate(runs):
        fig.add_trace(go.Scatter(
            x=list(r["eval_steps"]), y=[100 * v for v in r["eval_em"]], mode="lines+markers",
            name=_name(r), line={"color": PALETTE[i % len(PALETTE)], "width": 2}, marker={"size": 6},
            hovertemplate=f"{r['label']}<br>{x_title} %{{x}}<br>{y_title} %{{y:.1f}}%<extra></extra>"))
    fig.add_hline(y=99, line={"dash": "dot", "color": "#6c757d"})
    fig.update_xaxes(title_text=x_title, rangemode="tozero")
    fig.update_yaxes(title_text=y_title, range=[-2, 102], ticksuffix="%")
    return _legend_below(style(fig, title, height=height + 24 * len(runs)))
