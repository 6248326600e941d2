"""Figures of the generation page: cross-attention heatmap, causal mask, top-k bars, beams,
teacher forcing against step-by-step probabilities."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import COLORSCALE, PALETTE, style


def _unique(labels: Sequence[str]) -> list[str]:
    """Plotly merges equal category labels: make repeated ones unique with invisible suffixes."""
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        n = seen.get(lab, 0)
        seen[lab] = n + 1
        out.append(lab + "\u200b" * n)
    return out


def attention_heatmap(weights: np.ndarray, x_labels: Sequence[str], y_labels: Sequence[str], *,
                      title: str, x_title: str, y_title: str, height: int = 420) -> go.Figure:
    """weights (rows, cols) in [0, 1]; rows = decoder positions, cols = source tokens (or keys)."""
    w = np.asarray(weights, dtype=float)
    x, y = _unique(list(x_labels)), _unique(list(y_labels))
    fig = go.Figure(go.Heatmap(
        z=w, x=x, y=y, zmin=0.0, zmax=1.0, colorscale=COLORSCALE,
        text=[[f"{v:.2f}" for v in row] for row in w], texttemplate="%{text}",
        textfont={"size": 14},
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>weight %{{z:.3f}}<extra></extra>",
        colorbar={"title": {"text": "α"}}))
    fig.update_xaxes(title_text=x_title, side="top", type="category")
    # a gap between the row labels ("我 → I") and the first column: they touched the cells
    fig.update_yaxes(title_text=y_title, autorange="reversed", type="category", ticklabelstandoff=8)
    return _top_axis_room(style(fig, title, height=height))


def _top_axis_room(fig: go.Figure) -> go.Figure:
    """x axis on top: leave room between the title and the axis title."""
    fig.update_layout(margin={"t": 150})
    return fig


def mask_heatmap(mask: np.ndarray, labels: Sequence[str], *, title: str, x_title: str, y_title: str,
                 allowed: str, blocked: str, height: int = 320) -> go.Figure:
    """Causal mask (True = may attend) as two colours."""
    m = np.asarray(mask, dtype=bool)
    lab = _unique(list(labels))
    fig = go.Figure(go.Heatmap(
        z=m.astype(float), x=lab, y=lab, zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#e9ecef"], [1, PALETTE[0]]],
        text=[[allowed if v else blocked for v in row] for row in m],
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x}}<br>%{{text}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, side="top", type="category")
    fig.update_yaxes(title_text=y_title, autorange="reversed", type="category", ticklabelstandoff=8)
    return _top_axis_room(style(fig, title, height=height))


def topk_bars(tokens: Sequence[str], probs: Sequence[float], chosen: str, *, title: str,
              x_title: str, y_title: str, height: int = 360) -> go.Figure:
    """Horizontal bars of the top-k next-token probabilities, the chosen one highlighted."""
    toks = _unique(list(tokens))
    colors = [PALETTE[1] if t == chosen else PALETTE[0] for t in tokens]
    fig = go.Figure(go.Bar(
        x=list(probs), y=toks, orientation="h", marker={"color": colors},
        text=[f"{p:.1%}" for p in probs], textposition="outside",
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, range=[0, 1.32], tickvals=[0, 0.25, 0.5, 0.75, 1.0], tickformat=".0%")
    fig.update_yaxes(title_text=y_title, autorange="reversed", type="category")
    return style(fig, title, height=height)


def beam_scores(hyps: Sequence[tuple[str, float]], *, title: str, x_title: str, y_title: str,
                height: int = 340) -> go.Figure:
    """Final beam hypotheses (text, normalised log-prob score s), best first. Bars show exp(s), so
    the best hypothesis has the longest bar; the text gives s itself."""
    labels = _unique([h for h, _ in hyps])
    scores = [s for _, s in hyps]
    fig = go.Figure(go.Bar(
        x=list(np.exp(scores)), y=labels, orientation="h",
        marker={"color": [PALETTE[1]] + [PALETTE[0]] * (len(hyps) - 1)},
        text=[f"s = {s:.3f}" for s in scores], textposition="outside", cliponaxis=False,
        hovertemplate=f"{y_title}: %{{y}}<br>{x_title}: %{{x:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, range=[0, 1.25])
    fig.update_yaxes(title_text=y_title, autorange="reversed", type="category")
    return style(fig, title, height=height)


def teacher_forcing_bars(positions: Sequence[str], parallel: Sequence[float], stepwise: Sequence[float], *,
                         title: str, x_title: str, y_title: str, parallel_name: str, stepwise_name: str,
                         height: int = 380) -> go.Figure:
    """p(gold label) per position: one parallel pass vs one pass per prefix (they coincide)."""
    x = _unique(list(positions))
    fig = go.Figure([
        go.Bar(x=x, y=list(parallel), name=parallel_name, marker={"color": PALETTE[0]},
               hovertemplate=f"{x_title}: %{{x}}<br>{parallel_name}: %{{y:.6f}}<extra></extra>"),
        go.Bar(x=x, y=list(stepwise), name=stepwise_name, marker={"color": PALETTE[2]},
               hovertemplate=f"{x_title}: %{{x}}<br>{stepwise_name}: %{{y:.6f}}<extra></extra>"),
    ])
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.3, "x": 0})
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, range=[0, 1.05], tickformat=".0%")
    return style(fig, title, height=height)
