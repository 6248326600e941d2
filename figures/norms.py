"""Figures of the BatchNorm vs LayerNorm demo. Pure: arrays and caller-translated texts in."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.style import PALETTE, style

LEGEND_TOP = {"orientation": "h", "y": 1.0, "x": 1.0, "xanchor": "right", "yanchor": "bottom"}

# the 12 triangles of a unit cube, as vertex indices into its 8 corners
_CX = np.array([0, 0, 1, 1, 0, 0, 1, 1])
_CY = np.array([0, 1, 1, 0, 0, 1, 1, 0])
_CZ = np.array([0, 0, 0, 0, 1, 1, 1, 1])
_TI = np.array([7, 0, 0, 0, 4, 4, 6, 6, 4, 0, 3, 2])
_TJ = np.array([3, 4, 1, 2, 5, 6, 5, 2, 0, 1, 6, 3])
_TK = np.array([0, 7, 2, 3, 6, 7, 1, 1, 5, 5, 7, 6])


def _cubes(cells: np.ndarray, size: float = 0.82) -> tuple[np.ndarray, ...]:
    """Mesh arrays (x, y, z, i, j, k) of small cubes centred on the given (x, y, z) cells."""
    if len(cells) == 0:
        return (np.array([]),) * 6
    off = (1 - size) / 2
    xs = (cells[:, None, 0] - 0.5 + off + _CX * size).ravel()
    ys = (cells[:, None, 1] - 0.5 + off + _CY * size).ravel()
    zs = (cells[:, None, 2] - 0.5 + off + _CZ * size).ravel()
    base = (np.arange(len(cells)) * 8)[:, None]
    return xs, ys, zs, (base + _TI).ravel(), (base + _TJ).ravel(), (base + _TK).ravel()


def norm_cube(x: np.ndarray, groups: np.ndarray, highlight: int, *, title: str, batch_label: str,
              position_label: str, feature_label: str, value_label: str, group_label: str,
              highlight_label: str, other_label: str) -> go.Figure:
    """The (B, T, F) tensor as B·T·F small cubes; the cells of statistic group `highlight` in red.
    x axis = feature, y axis = position, z axis = batch."""
    B, T, F = x.shape
    b, t, f = np.meshgrid(np.arange(B), np.arange(T), np.arange(F), indexing="ij")
    cells = np.stack([f.ravel(), t.ravel(), b.ravel()], axis=1).astype(float)
    hit = (groups.ravel() == highlight)
    fig = go.Figure()
    # The highlighted cubes are opaque: WebGL draws translucent triangles unsorted, and the 0.95
    # red showed stripes and dark faces through each other; no specular/fresnel glints either.
    for sel, color, opacity, name in ((~hit, "#9aa5b8", 0.13, other_label), (hit, PALETTE[1], 1.0, highlight_label)):
        xs, ys, zs, ii, jj, kk = _cubes(cells[sel])
        fig.add_trace(go.Mesh3d(x=xs, y=ys, z=zs, i=ii, j=jj, k=kk, color=color, opacity=opacity, flatshading=True,
                                hoverinfo="skip", name=name, showlegend=True,
                                lighting={"ambient": 0.75, "diffuse": 0.5, "specular": 0.0, "fresnel": 0.0,
                                          "roughness": 1.0}))
    text = [f"{batch_label} {bb}<br>{position_label} {tt}<br>{feature_label} {ff}<br>{value_label} {v:.2f}"
            f"<br>{group_label} {g}" for bb, tt, ff, v, g in zip(b.ravel(), t.ravel(), f.ravel(), x.ravel(),
                                                                  groups.ravel(), strict=True)]
    fig.add_trace(go.Scatter3d(x=cells[:, 0], y=cells[:, 1], z=cells[:, 2], mode="markers",
                               marker={"size": 3, "color": "rgba(0,0,0,0.01)"}, text=text,
                               hovertemplate="%{text}<extra></extra>", showlegend=False))
    axis = {"showbackground": False, "gridcolor": "#e3e7ee", "zeroline": False}
    fig.update_layout(scene={
        "xaxis": {**axis, "title": {"text": feature_label}, "tickvals": list(range(F))},
        "yaxis": {**axis, "title": {"text": position_label}, "tickvals": list(range(T))},
        "zaxis": {**axis, "title": {"text": batch_label}, "tickvals": list(range(B))},
        "aspectmode": "data",
        "camera": {"eye": {"x": 1.4, "y": -1.5, "z": 1.0}, "center": {"x": 0, "y": 0, "z": -0.1}},
        "domain": {"x": [0, 1], "y": [0, 1]},
    }, legend={"orientation": "h", "y": 0.02})
    style(fig, title, height=620)
    fig.update_layout(margin={"l": 0, "r": 0, "b": 0})
    return fig


def stats_bars(labels: Sequence[str], before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray],
               *, title: str, x_title: str, mean_title: str, var_title: str, before_label: str,
               after_label: str) -> go.Figure:
    """Mean and variance per item (feature or token), before and after the norm, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(mean_title, var_title), horizontal_spacing=0.09)
    for col, idx in ((1, 0), (2, 1)):
        for vals, name, color in ((before[idx], before_label, "#9aa5b8"), (after[idx], after_label, PALETTE[0])):
            fig.add_trace(go.Bar(x=list(labels), y=np.round(vals, 4), name=name, marker_color=color,
                                 legendgroup=name, showlegend=col == 1,
                                 hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(title_text=x_title, row=1, col=col)
    fig.update_layout(barmode="group", legend=LEGEND_TOP)
    fig.update_xaxes(type="category")
    style(fig, title, height=430)
    fig.update_layout(margin={"t": 110})
    return fig


def padding_plot(curve: dict[str, np.ndarray], current: float, *, title: str, x_title: str, y_title: str,
                 names: dict[str, str]) -> go.Figure:
    fig = go.Figure()
    for key, color, dash in (("bn_mean_shift", PALETTE[1], "solid"), ("bn_out_shift", PALETTE[3], "dash"),
                             ("ln_out_shift", PALETTE[2], "solid")):
        fig.add_trace(go.Scatter(x=curve["pad_share"], y=np.round(curve[key], 5), mode="lines+markers",
                                 name=names[key], line={"width": 3, "color": color, "dash": dash},
                                 hovertemplate=f"{x_title} %{{x:.0%}}<br>{names[key]}: %{{y:.3f}}<extra></extra>"))
    fig.add_vline(x=current, line={"dash": "dot", "color": "#1d2330", "width": 2})
    fig.update_xaxes(title_text=x_title, tickformat=".0%")
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=430)


def mean_compare(labels: Sequence[str], real: np.ndarray, with_pad: np.ndarray, *, title: str, x_title: str,
                 y_title: str, real_label: str, pad_label: str) -> go.Figure:
    fig = go.Figure()
    for vals, name, color in ((real, real_label, PALETTE[0]), (with_pad, pad_label, PALETTE[1])):
        fig.add_trace(go.Bar(x=list(labels), y=np.round(vals, 4), name=name, marker_color=color,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=400)


def noise_plot(r: dict, current: int, *, title: str, x_title: str, y_title: str, mean_label: str,
               theory_label: str, out_label: str) -> go.Figure:
    bs = r["batch_sizes"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=bs, y=r["theory"], mode="lines", name=theory_label,
                             line={"width": 7, "color": "#c9d3e0"},
                             hovertemplate=f"B %{{x}}<br>{theory_label}: %{{y:.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=bs, y=r["mean_std"], mode="lines+markers", name=mean_label,
                             line={"width": 3, "color": PALETTE[0]}, marker={"size": 9},
                             hovertemplate=f"B %{{x}}<br>{mean_label}: %{{y:.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=bs, y=r["out_std"], mode="lines+markers", name=out_label,
                             line={"width": 3, "color": PALETTE[1], "dash": "dash"}, marker={"size": 9},
                             hovertemplate=f"B %{{x}}<br>{out_label}: %{{y:.3f}}<extra></extra>"))
    fig.add_vline(x=current, line={"dash": "dot", "color": "#1d2330", "width": 2})
    fig.update_xaxes(title_text=x_title, type="log", tickvals=list(bs))
    fig.update_yaxes(title_text=y_title, type="log")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=440)


def token_spread(values: np.ndarray, true_value: float, *, title: str, x_title: str, true_label: str,
                 count_label: str) -> go.Figure:
    fig = go.Figure(go.Histogram(x=np.round(values, 4), nbinsx=40, marker_color=PALETTE[1], opacity=0.85,
                                 hovertemplate=f"{x_title} %{{x}}<br>{count_label}: %{{y}}<extra></extra>"))
    fig.add_vline(x=true_value, line={"dash": "dash", "color": PALETTE[2], "width": 3},
                  annotation_text=true_label, annotation_position="top right")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=count_label)
    return style(fig, title, height=380)


def running_mean_plot(hist: np.ndarray, true_mean: np.ndarray, *, title: str, x_title: str, y_title: str,
                      feature_label: str, true_label: str) -> go.Figure:
    steps = np.arange(len(hist))
    fig = go.Figure()
    for j in range(hist.shape[1]):
        color = PALETTE[j % len(PALETTE)]
        fig.add_trace(go.Scatter(x=steps, y=np.round(hist[:, j], 4), mode="lines", name=f"{feature_label} {j}",
                                 line={"width": 3, "color": color},
                                 hovertemplate=f"{x_title} %{{x}}<br>{feature_label} {j}: %{{y:.3f}}<extra></extra>"))
        fig.add_hline(y=float(true_mean[j]), line={"dash": "dot", "color": color, "width": 2})
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=true_label,
                             line={"dash": "dot", "color": "#1d2330", "width": 2}))
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=420)


def train_eval_bars(train: np.ndarray, evals: np.ndarray, *, title: str, x_title: str, y_title: str,
                    train_label: str, eval_label: str, token_label: str, feature_label: str) -> go.Figure:
    labels = [f"{i}·{j}" for i in range(train.shape[0]) for j in range(train.shape[1])]
    fig = go.Figure()
    for vals, name, color in ((train, train_label, PALETTE[3]), (evals, eval_label, PALETTE[0])):
        fig.add_trace(go.Bar(x=labels, y=np.round(vals.ravel(), 4), name=name, marker_color=color,
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(title_text=f"{x_title} ({token_label} · {feature_label})", type="category")
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(barmode="group", legend=LEGEND_TOP)
    style(fig, title, height=430)
    fig.update_layout(margin={"t": 110})
    return fig
