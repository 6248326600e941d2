"""Figures of the positional-encoding demo. Pure: arrays and caller-translated texts in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import COLORSCALE, DIVERGING, PALETTE, style


def _r(a: np.ndarray, nd: int = 3) -> np.ndarray:
    """float32, rounded: plotly ships numpy arrays as base64 typed arrays, so this halves the payload."""
    return np.round(np.asarray(a, dtype=np.float64), nd).astype(np.float32)


def pe_heatmap(table: np.ndarray, *, title: str, x_title: str, y_title: str, value: str,
               height: int = 460) -> go.Figure:
    """table (positions, dims) as a heatmap, position downwards."""
    fig = go.Figure(go.Heatmap(
        z=_r(table), colorscale=DIVERGING, zmid=0, reversescale=True,
        hovertemplate=f"{y_title} %{{y}}<br>{x_title} %{{x}}<br>{value} %{{z:.3f}}<extra></extra>",
        colorbar={"thickness": 14},
    ))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, autorange="reversed")
    return style(fig, title, height=height)


def curves(table: np.ndarray, dims: Sequence[int], wavelengths: np.ndarray, *, title: str, x_title: str,
           y_title: str, dim_label: str, wavelength_label: str) -> go.Figure:
    """PE[:, dim] against position for each chosen dimension (sin for even, cos for odd dims)."""
    pos = np.arange(table.shape[0])
    fig = go.Figure()
    for j, dim in enumerate(dims):
        fn = "sin" if dim % 2 == 0 else "cos"
        name = f"{dim_label} {dim} ({fn}, {wavelength_label} {wavelengths[dim]:.1f})"
        fig.add_trace(go.Scatter(
            x=pos, y=_r(table[:, dim]), mode="lines", name=name,
            line={"width": 3, "color": PALETTE[j % len(PALETTE)], "dash": "solid" if dim % 2 == 0 else "dot"},
            hovertemplate=f"{dim_label} {dim}<br>{x_title} %{{x}}<br>{y_title} %{{y:.3f}}<extra></extra>",
        ))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, range=[-1.1, 1.1])
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=500)


def wavelength_plot(lam: np.ndarray, length: int, *, title: str, x_title: str, y_title: str,
                    length_label: str, lo_label: str, hi_label: str) -> go.Figure:
    """Wavelength of every dimension on a log axis, between 2π and 10000·2π, with the sequence length."""
    dims = np.arange(len(lam))
    fig = go.Figure(go.Scatter(
        x=dims, y=lam, mode="markers+lines", marker={"size": 6, "color": PALETTE[0]}, line={"width": 2},
        name=y_title, hovertemplate=f"{x_title} %{{x}}<br>{y_title} %{{y:,.1f}}<extra></extra>",
    ))
    for y, label, color in ((2 * np.pi, lo_label, PALETTE[2]), (2 * np.pi * 10000, hi_label, PALETTE[1]),
                            (float(length), length_label, PALETTE[3])):
        fig.add_hline(y=y, line={"dash": "dash", "color": color, "width": 2})
        # on a log axis an annotation's y is log10 of the value (add_hline's own label lands wrong)
        fig.add_annotation(x=0, xref="paper", y=float(np.log10(y)), text=label, showarrow=False,
                           xanchor="left", yanchor="bottom", font={"size": 14, "color": color},
                           bgcolor="rgba(255,255,255,0.8)")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log", range=[0.5, 5.05])
    fig.update_layout(showlegend=False)
    return style(fig, title, height=460)


def similarity_heatmap(dots: np.ndarray, *, title: str, x_title: str, y_title: str, value: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=_r(dots, 2), colorscale=COLORSCALE,
        hovertemplate=f"{y_title} %{{y}}<br>{x_title} %{{x}}<br>{value} %{{z:.2f}}<extra></extra>",
        colorbar={"thickness": 14},
    ))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, autorange="reversed")
    return style(fig, title, height=500)


def dot_vs_distance(dots: np.ndarray, anchors: Sequence[int], closed_form: np.ndarray, *, title: str,
                    x_title: str, y_title: str, anchor_label: str, formula_label: str) -> go.Figure:
    """Rows of the dot matrix starting at several anchor positions, against the distance k,
    plus the closed form Σ cos(k ω_i): all curves coincide."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=np.arange(len(closed_form)), y=_r(closed_form), mode="lines", name=formula_label,
        line={"width": 8, "color": "#c9d3e0"},
        hovertemplate=f"k %{{x}}<br>{y_title} %{{y:.3f}}<extra>{formula_label}</extra>",
    ))
    for j, p in enumerate(anchors):
        row = dots[p, p:]
        fig.add_trace(go.Scatter(
            x=np.arange(len(row)), y=_r(row), mode="lines", name=f"{anchor_label} = {p}",
            line={"width": 2, "color": PALETTE[j % len(PALETTE)], "dash": ["solid", "dash", "dot"][j % 3]},
            hovertemplate=f"k %{{x}}<br>{y_title} %{{y:.3f}}<extra>{anchor_label} = {p}</extra>",
        ))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(legend={"orientation": "h", "y": -0.22})
    return style(fig, title, height=460)


def rotation_heatmap(m: np.ndarray, *, title: str, x_title: str, y_title: str, value: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(
        z=_r(m), colorscale=DIVERGING, zmid=0, zmin=-1, zmax=1, reversescale=True, xgap=1, ygap=1,
        hovertemplate=f"{y_title} %{{y}}<br>{x_title} %{{x}}<br>{value} %{{z:.3f}}<extra></extra>",
        colorbar={"thickness": 14},
    ))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, autorange="reversed")
    return style(fig, title, height=500)


def pair_circle(table: np.ndarray, pair: int, pos: int, k: int, *, title: str, x_title: str, y_title: str,
                from_label: str, to_label: str, path_label: str) -> go.Figure:
    """(sin, cos) of one frequency pair traces the unit circle; moving k positions is a rotation."""
    s, c = table[:, 2 * pair], table[:, 2 * pair + 1]
    fig = go.Figure()
    theta = np.linspace(0, 2 * np.pi, 200)
    fig.add_trace(go.Scatter(x=np.sin(theta), y=np.cos(theta), mode="lines", line={"color": "#c9d3e0", "width": 2},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(go.Scatter(x=_r(s), y=_r(c), mode="markers", name=path_label, marker={"size": 5, "color": "#7a8699"},
                             hovertemplate=f"{path_label} %{{text}}<br>sin %{{x:.3f}}<br>cos %{{y:.3f}}<extra></extra>",
                             text=np.arange(len(s))))
    for idx, label, color in ((pos, from_label, PALETTE[0]), (pos + k, to_label, PALETTE[1])):
        fig.add_trace(go.Scatter(x=[0, s[idx]], y=[0, c[idx]], mode="lines+markers", name=f"{label} = {idx}",
                                 line={"width": 4, "color": color}, marker={"size": [0, 14], "color": color},
                                 hovertemplate=f"{label} {idx}<br>sin %{{x:.3f}}<br>cos %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, range=[-1.2, 1.2])
    fig.update_yaxes(title_text=y_title, range=[-1.2, 1.2], scaleanchor="x")
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return style(fig, title, height=520)


def norm_bars(names: Sequence[str], means: Sequence[float], stds: Sequence[float], *, title: str,
              y_title: str, colors: Sequence[str] | None = None) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=list(names), y=list(means), error_y={"type": "data", "array": list(stds), "visible": True},
        marker_color=list(colors) if colors else PALETTE[: len(names)],
        text=[f"{m:.2f}" for m in means], textposition="outside",
        hovertemplate=f"%{{x}}<br>{y_title} %{{y:.3f}}<extra></extra>",
    ))
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_xaxes(title_text="")
    return style(fig, title, height=440)


def share_bars(categories: Sequence[str], with_scale: Sequence[float], without: Sequence[float], *, title: str,
               x_title: str, with_label: str, without_label: str) -> go.Figure:
    """Grouped horizontal bars: each quantity with and without the √d_model scale."""
    fig = go.Figure()
    for vals, label, color in ((without, without_label, PALETTE[1]), (with_scale, with_label, PALETTE[0])):
        fig.add_trace(go.Bar(y=list(categories), x=list(vals), name=label, marker_color=color, orientation="h",
                             text=[f"{v:.2f}" for v in vals], textposition="outside",
                             hovertemplate=f"%{{y}}<br>{label}: %{{x:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title, range=[0, 1.15])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    style(fig, title, height=420)
    fig.update_yaxes(automargin=True)
    return fig
