"""Figures of the training-details demo. Pure: arrays and caller-translated texts in."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom",
              "traceorder": "normal"}


def lr_plot(steps: np.ndarray, lr: np.ndarray, warm_branch: np.ndarray, decay_branch: np.ndarray,
            peak: tuple[int, float], *, title: str, x_title: str, y_title: str, lr_label: str, warm_label: str,
            decay_label: str, peak_label: str) -> go.Figure:
    ymax = float(lr.max()) * 1.35
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=steps, y=np.minimum(warm_branch, ymax * 2), mode="lines", name=warm_label,
                             line={"width": 2, "dash": "dash", "color": PALETTE[2]},
                             hovertemplate=f"{x_title} %{{x:,}}<br>{warm_label}: %{{y:.3e}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps, y=np.minimum(decay_branch, ymax * 2), mode="lines", name=decay_label,
                             line={"width": 2, "dash": "dot", "color": PALETTE[3]},
                             hovertemplate=f"{x_title} %{{x:,}}<br>{decay_label}: %{{y:.3e}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps, y=lr, mode="lines", name=lr_label, line={"width": 4, "color": PALETTE[0]},
                             hovertemplate=f"{x_title} %{{x:,}}<br>{lr_label}: %{{y:.3e}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[peak[0]], y=[peak[1]], mode="markers+text", name=peak_label,
                             marker={"size": 14, "color": PALETTE[1], "symbol": "star"},
                             text=[f"{peak_label}: ({peak[0]:,}, {peak[1]:.3e})"], textposition="top right",
                             textfont={"size": 15, "color": PALETTE[1]},
                             hovertemplate=f"{peak_label}<br>{x_title} %{{x:,}}<br>{y_title} %{{y:.4e}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, range=[0, ymax], exponentformat="e")
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=480)


def zeros_bars(names: Sequence[str], train: Sequence[float], evals: Sequence[float], p: float, *, title: str,
               y_title: str, train_label: str, eval_label: str, p_label: str) -> go.Figure:
    fig = go.Figure()
    for vals, name, color in ((train, train_label, PALETTE[3]), (evals, eval_label, PALETTE[0])):
        fig.add_trace(go.Bar(x=list(names), y=list(vals), name=name, marker_color=color,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.1%}}<extra></extra>"))
    fig.add_hline(y=p, line={"dash": "dash", "color": PALETTE[1], "width": 2}, annotation_text=p_label,
                  annotation_position="top left", annotation_font={"color": PALETTE[1], "size": 14})
    fig.update_yaxes(title_text=y_title, tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(type="category")
    fig.update_layout(barmode="group", legend=LEGEND_TOP)
    style(fig, title, height=430)
    fig.update_layout(margin={"t": 110})
    return fig


def target_bars(q: np.ndarray, true_class: int, *, title: str, x_title: str, y_title: str, smooth_label: str,
                hard_label: str) -> go.Figure:
    K = len(q)
    hard = np.zeros(K)
    hard[true_class] = 1.0
    x = [str(k) for k in range(K)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=hard, name=hard_label, marker_color="#c9d3e0",
                         hovertemplate=f"{x_title} %{{x}}<br>{hard_label}: %{{y:.4f}}<extra></extra>"))
    fig.add_trace(go.Bar(x=x, y=q, name=smooth_label, marker_color=PALETTE[0],
                         text=[f"{v:.3f}" if (K <= 12 or k == true_class) else "" for k, v in enumerate(q)],
                         textposition="outside",
                         hovertemplate=f"{x_title} %{{x}}<br>{smooth_label}: %{{y:.4f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, type="category")
    fig.update_yaxes(title_text=y_title, range=[0, 1.12])
    fig.update_layout(barmode="group", bargap=0.15, legend=LEGEND_TOP)
    style(fig, title, height=440)
    fig.update_layout(margin={"t": 110})
    return fig


def dropout_dot(lab: dict[str, str]) -> str:
    """Graphviz DOT source of an encoder layer with its dropout sites (for st.graphviz_chart)."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    paper = 'shape=box, style="rounded,filled", fillcolor="#f6d4d8", color="#d1495b", fontcolor="#8a1c2b"'
    extra = 'shape=box, style="rounded,filled,dashed", fillcolor="#fbe8c8", color="#edae49", fontcolor="#7a5200"'
    box = 'shape=box, style="rounded,filled", fillcolor="#e8eef7", color="#1f5fa8"'
    return f"""digraph G {{
  rankdir=TB; bgcolor="transparent"; node [fontname="Noto Sans CJK SC", fontsize=13]; edge [color="#6c757d"];
  tok [label={q(lab["tokens"])}, {box}];
  emb [label={q(lab["embed"])}, {box}];
  pe [label={q(lab["pe"])}, {box}];
  sum [label="+", shape=circle, width=0.35];
  d0 [label={q(lab["drop_paper"])}, {paper}];
  attn [label={q(lab["attn"])}, {box}];
  soft [label={q(lab["softmax"])}, {box}];
  d1x [label={q(lab["drop_extra"])}, {extra}];
  d1 [label={q(lab["drop_paper"])}, {paper}];
  an1 [label={q(lab["add_norm"])}, {box}];
  ffn [label={q(lab["ffn"])}, {box}];
  d2x [label={q(lab["drop_extra"])}, {extra}];
  d2 [label={q(lab["drop_paper"])}, {paper}];
  an2 [label={q(lab["add_norm"])}, {box}];
  out [label={q(lab["out"])}, shape=plaintext];
  tok -> emb -> sum; pe -> sum; sum -> d0 -> attn;
  attn -> soft [style=dashed, arrowhead=none]; soft -> d1x [style=dashed];
  attn -> d1 -> an1; d0 -> an1 [style=dotted, label=" x"];
  an1 -> ffn; ffn -> d2x [style=dashed, arrowhead=none]; ffn -> d2 -> an2; an1 -> an2 [style=dotted, label=" x"];
  an2 -> out;
}}"""
