"""Figures of the Masks demo. Pure: arrays and caller-translated texts in, plotly figures out.

Token labels come from user text: `label()` escapes them (plotly interprets a few HTML tags in
text) and shortens long ones; axes are numeric with tick labels, so repeated tokens stay apart.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import COLORSCALE, PALETTE, style

ATTEND_COLOR = "#2e9e6a"
BLOCKED_COLOR = "#d9dde3"
PAD_COLOR = "#c7ccd4"
MAX_LABEL = 12


def label(token: str, max_len: int = MAX_LABEL) -> str:
    """A token as a safe, short plotly label ("<pad>" shows as ⟨pad⟩)."""
    if token.startswith("<") and token.endswith(">") and len(token) <= 7:
        token = f"⟨{token[1:-1]}⟩"
    if len(token) > max_len:
        token = token[: max_len - 1] + "…"
    return html.escape(token, quote=False)


def labels(tokens: Sequence[str]) -> list[str]:
    return [label(t) for t in tokens]


def _ticks(tokens: Sequence[str], with_index: bool = True) -> tuple[list[int], list[str]]:
    vals = list(range(len(tokens)))
    text = [f"{i}·{label(t)}" if with_index else label(t) for i, t in enumerate(tokens)]
    return vals, text


def _fmt(x: float) -> str:
    if np.isnan(x):
        return "NaN"
    if np.isinf(x):
        return "−∞" if x < 0 else "+∞"
    return f"{x:.1f}"


def batch_padding(tokens: Sequence[Sequence[str]], pad: np.ndarray, *, title: str, x_title: str,
                  y_title: str, real_text: str, pad_text: str, sentence: str) -> go.Figure:
    """The batch as a grid (sentence × position): real tokens green (mask 1), pads grey (mask 0)."""
    B, T = pad.shape
    z = pad.astype(float)
    text = [[label(tokens[b][t]) for t in range(T)] for b in range(B)]
    state = [[real_text if pad[b, t] else pad_text for t in range(T)] for b in range(B)]
    fig = go.Figure(go.Heatmap(
        z=z, zmin=0, zmax=1, colorscale=[[0, PAD_COLOR], [1, ATTEND_COLOR]], showscale=False,
        text=text, texttemplate="%{text}", textfont={"size": 15, "color": "#111"}, customdata=state,
        xgap=2, ygap=2,
        hovertemplate=f"{sentence} %{{y}}<br>{x_title} %{{x}}<br>%{{text}}<br>mask = %{{z:.0f}} (%{{customdata}})<extra></extra>",
    ))
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=list(range(T)), showgrid=False)
    fig.update_yaxes(title_text=y_title, tickmode="array", tickvals=list(range(B)),
                     ticktext=[f"{sentence} {b}" for b in range(B)], autorange="reversed", showgrid=False)
    return style(fig, title, height=min(120 + 58 * B, 470))


def mask_grid(mask: np.ndarray, tokens: Sequence[str], *, title: str, x_title: str, y_title: str,
              attend_text: str, blocked_text: str, height: int = 430) -> go.Figure:
    """A bool (Tq, Tk) mask: True (may attend) green with 1, False grey with 0."""
    Tq, Tk = mask.shape
    state = np.where(mask, attend_text, blocked_text)
    xv, xt = _ticks(tokens[:Tk], with_index=False)
    yv, yt = _ticks(tokens[:Tq])
    fig = go.Figure(go.Heatmap(
        z=mask.astype(float), zmin=0, zmax=1, colorscale=[[0, BLOCKED_COLOR], [1, ATTEND_COLOR]],
        showscale=False, text=mask.astype(int).astype(str), texttemplate="%{text}", customdata=state,
        textfont={"size": 14}, xgap=1, ygap=1,
        hovertemplate=f"{y_title} %{{y}} → {x_title} %{{x}}: %{{customdata}}<extra></extra>",
    ))
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=xv, ticktext=xt, showgrid=False)
    fig.update_yaxes(title_text=y_title, tickmode="array", tickvals=yv, ticktext=yt, autorange="reversed",
                     showgrid=False)
    return style(fig, title, height=height)


def _domains(widths: Sequence[float], gap: float) -> list[list[float]]:
    """x-domains of side-by-side panels with relative `widths` and a `gap` between them."""
    total = 1.0 - gap * (len(widths) - 1)
    out, x = [], 0.0
    for w in widths:
        span = total * w / sum(widths)
        out.append([x, x + span])
        x += span + gap
    return out


def _panels(traces: Sequence[dict], names: Sequence[str], domains: list[list[float]], *, x_axes: Sequence[dict],
            y_axes: Sequence[dict]) -> go.Figure:
    """One figure of side-by-side panels built in a single pass (make_subplots + per-panel updates
    cost several times more, which matters for a 150 ms rerun budget)."""
    data, layout, notes = [], {}, []
    for i, (tr, dom) in enumerate(zip(traces, domains, strict=True)):
        sfx = "" if i == 0 else str(i + 1)
        data.append({**tr, "xaxis": f"x{sfx}", "yaxis": f"y{sfx}"})
        layout[f"xaxis{sfx}"] = {"domain": dom, "anchor": f"y{sfx}", "showgrid": False, **x_axes[i]}
        layout[f"yaxis{sfx}"] = {"anchor": f"x{sfx}", "showgrid": False, **y_axes[i]}
        notes.append({"text": names[i], "x": (dom[0] + dom[1]) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                      "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 16}})
    layout["annotations"] = notes
    return go.Figure(data=data, layout=layout)


def _heat(z, *, text, hover: str, **kw) -> dict:
    return {"type": "heatmap", "z": z, "text": text, "texttemplate": "%{text}", "xgap": 1, "ygap": 1,
            "hovertemplate": hover, **kw}


def masks_side_by_side(grids: Sequence[np.ndarray], names: Sequence[str], tokens: Sequence[str], *,
                       title: str, x_title: str, y_title: str, attend_text: str, blocked_text: str) -> go.Figure:
    """Several (T, T) masks next to each other (e.g. padding ∧ causal = combined)."""
    n = len(grids)
    xv, xt = _ticks(tokens, with_index=False)
    traces = [_heat(m.astype(float), text=m.astype(int).astype(str), zmin=0, zmax=1, showscale=False,
                    colorscale=[[0, BLOCKED_COLOR], [1, ATTEND_COLOR]], textfont={"size": 12},
                    customdata=np.where(m, attend_text, blocked_text),
                    hover=f"{names[i]}<br>{y_title} %{{y}} → {x_title} %{{x}}: %{{customdata}}<extra></extra>")
              for i, m in enumerate(grids)]
    x_axes = [{"tickmode": "array", "tickvals": xv, "ticktext": xt, "title": {"text": x_title}}] * n
    y_axes = [{"tickmode": "array", "tickvals": xv, "ticktext": xt if i == 0 else [""] * len(xt),
               "autorange": "reversed", "title": {"text": y_title if i == 0 else ""}} for i in range(n)]
    fig = _panels(traces, names, _domains([1] * n, 0.06), x_axes=x_axes, y_axes=y_axes)
    return style(fig, title, height=440)


def score_steps(scaled: np.ndarray, masked: np.ndarray, weights: np.ndarray, tokens: Sequence[str], *,
                title: str, names: Sequence[str], x_title: str, y_title: str, value: str) -> go.Figure:
    """Scores before masking | after masking (−∞ cells shown as −∞) | after softmax (exact 0)."""
    xv, xt = _ticks(tokens, with_index=False)
    finite = scaled[np.isfinite(scaled)]
    lim = float(np.abs(finite).max()) if finite.size else 1.0
    traces = []
    for i, (arr, kind) in enumerate(((scaled, "score"), (masked, "score"), (weights, "prob"))):
        z = np.where(np.isfinite(arr), arr, np.nan)
        text = [[_fmt(x) if kind == "score" else ("0" if x == 0 else f"{x:.2f}") for x in row] for row in arr]
        heat = {"colorscale": "RdBu", "reversescale": True, "zmid": 0, "zmin": -lim, "zmax": lim,
                "showscale": False} if kind == "score" else \
            {"colorscale": COLORSCALE, "zmin": 0, "zmax": 1, "colorbar": {"thickness": 12, "len": 0.9}}
        traces.append(_heat(z, text=text, textfont={"size": 12},
                            hover=f"{names[i]}<br>{y_title} %{{y}} → {x_title} %{{x}}<br>{value} %{{text}}<extra></extra>",
                            **heat))
        if len(arr) > 12:
            traces[-1]["texttemplate"] = ""
    x_axes = [{"tickmode": "array", "tickvals": xv, "ticktext": xt, "title": {"text": x_title}}] * 3
    y_axes = [{"tickmode": "array", "tickvals": xv, "ticktext": xt if i == 0 else [""] * len(xt),
               "autorange": "reversed", "title": {"text": y_title if i == 0 else ""}} for i in range(3)]
    fig = _panels(traces, names, _domains([1, 1, 1], 0.06), x_axes=x_axes, y_axes=y_axes)
    fig.update_layout(plot_bgcolor=BLOCKED_COLOR)
    return style(fig, title, height=480)


def weights_and_delta(weights: np.ndarray, delta: np.ndarray, tokens: Sequence[str], pad: np.ndarray, *,
                      title: str, names: Sequence[str], x_title: str, y_title: str, delta_title: str,
                      value: str) -> go.Figure:
    """Left: attention weights (T, T) of one sentence; right: per query position, max |Δ output|
    when the pad content changes (pad rows left empty)."""
    xv, xt = _ticks(tokens, with_index=False)
    d = np.nan_to_num(delta)
    real = ~pad
    heat = _heat(weights, text=[[("0" if x == 0 else f"{x:.2f}") for x in r] for r in weights], zmin=0, zmax=1,
                 colorscale=COLORSCALE, textfont={"size": 12}, showscale=False,
                 hover=f"{y_title} %{{y}} → {x_title} %{{x}}<br>{value} %{{z:.4f}}<extra></extra>")
    bars = {"type": "bar", "y": xv, "x": d, "orientation": "h", "showlegend": False,
            "marker": {"color": [PALETTE[1] if (r and v > 1e-6) else PALETTE[2] for r, v in zip(real, d, strict=True)]},
            "text": [("—" if not r else f"{v:.2g}") for r, v in zip(real, d, strict=True)], "textposition": "outside",
            "hovertemplate": f"{y_title} %{{y}}<br>{delta_title} %{{x:.3g}}<extra></extra>"}
    top = float(d.max()) if d.size else 0.0
    ticks = {"tickmode": "array", "tickvals": xv, "ticktext": xt, "autorange": "reversed"}
    fig = _panels([heat, bars], names, _domains([0.58, 0.42], 0.12),
                  x_axes=[{"tickmode": "array", "tickvals": xv, "ticktext": xt, "title": {"text": x_title}},
                          {"title": {"text": delta_title}, "range": [0, max(top * 1.35, 0.1)], "showgrid": True}],
                  y_axes=[{**ticks, "title": {"text": y_title}}, ticks])
    return style(fig, title, height=450)


def nan_rows(rows: Sequence[np.ndarray], names: Sequence[str], *, title: str, x_title: str, y_title: str,
             nan_text: str) -> go.Figure:
    """Weights of one fully masked row under each treatment, as grouped bars (NaN shown as text)."""
    fig = go.Figure()
    T = len(rows[0])
    for i, (row, name) in enumerate(zip(rows, names, strict=True)):
        y = np.nan_to_num(row, nan=0.0)
        fig.add_trace(go.Bar(
            x=list(range(T)), y=y, name=name, marker_color=PALETTE[i % len(PALETTE)],
            text=[nan_text if np.isnan(v) else f"{v:.3g}" for v in row], textposition="outside",
            hovertemplate=f"{name}<br>{x_title} %{{x}}<br>{y_title} %{{text}}<extra></extra>",
        ))
    fig.update_xaxes(title_text=x_title, tickmode="linear", dtick=1)
    fig.update_yaxes(title_text=y_title, range=[0, 0.5 if T < 4 else max(1.6 / T, 0.3)])
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=400)


def mlm_strip(original: Sequence[str], inputs: Sequence[str], actions: Sequence[str], action_names: dict[str, str], *,
              title: str, x_title: str, rows: Sequence[str]) -> go.Figure:
    """Two rows (original, model input) of tokens, coloured by what BERT's recipe did."""
    code = {"none": 0, "keep": 1, "random": 2, "mask": 3}
    colors = ["#eef0f3", "#edae49", "#7b4fa0", "#d1495b"]
    scale = [pair for i, c in enumerate(colors) for pair in ([(i / 4), c], [((i + 1) / 4), c])]
    z = [[code[a] for a in actions]] * 2
    text = [labels(original), labels(inputs)]
    names = [[action_names[a] for a in actions]] * 2
    fig = go.Figure(go.Heatmap(
        z=z, zmin=-0.5, zmax=3.5, colorscale=scale, showscale=False, text=text, texttemplate="%{text}",
        textfont={"size": 15}, customdata=names, xgap=3, ygap=3,
        hovertemplate=f"{x_title} %{{x}}<br>%{{text}}<br>%{{customdata}}<extra></extra>",
    ))
    fig.update_xaxes(title_text=x_title, tickmode="linear", dtick=1, showgrid=False)
    fig.update_yaxes(tickmode="array", tickvals=[0, 1], ticktext=list(rows), autorange="reversed", showgrid=False)
    for a in ("mask", "random", "keep"):
        c = colors[code[a]]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=action_names[a],
                                 marker={"size": 14, "color": c, "symbol": "square"}))
    fig.update_layout(legend={"orientation": "h", "y": -0.45}, plot_bgcolor="white")
    return style(fig, title, height=280)


def leak_bars(delta: np.ndarray, tokens: Sequence[str], position: int, *, title: str, x_title: str,
              y_title: str, changed_text: str) -> go.Figure:
    """max |Δ decoder output| per target position; the changed position is marked."""
    T = len(delta)
    xv, xt = _ticks(tokens)
    colors = [PALETTE[2] if (i < position and d <= 1e-6) else PALETTE[1] for i, d in enumerate(delta)]
    fig = go.Figure(go.Bar(
        x=xv, y=delta, marker_color=colors, text=["0" if d == 0 else f"{d:.3g}" for d in delta],
        textposition="outside", hovertemplate=f"{x_title} %{{x}}<br>{y_title} %{{y:.3g}}<extra></extra>",
    ))
    fig.add_vline(x=position - 0.5, line={"dash": "dash", "color": "#444", "width": 2})
    fig.add_annotation(x=position, y=1.0, yref="paper", text=changed_text, showarrow=False,
                       xanchor="left", yanchor="bottom", font={"size": 14})
    top = float(delta.max()) if T else 1.0
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=xv, ticktext=xt)
    fig.update_yaxes(title_text=y_title, range=[0, max(top * 1.25, 0.05)])
    return style(fig, title, height=420)
