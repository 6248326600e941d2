"""Figures of the attention demo. Pure: arrays, token labels and caller-translated texts in, figures out.

Token labels are user text: they are escaped for plotly's pseudo-HTML (so "<b>" is shown, not
applied) and placed on numeric axes (ticktext), so repeated tokens keep their own row/column.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.style import COLORSCALE, DIVERGING, PALETTE, style

MAX_LABEL = 12
GRID_LABEL = 8  # in the all-heads grid's small panels


def label(token: str, limit: int = MAX_LABEL) -> str:
    """A token as a safe, short axis label."""
    token = token if len(token) <= limit else token[: limit - 1] + "…"
    return html.escape(token, quote=False)


def _labels(tokens: Sequence[str], limit: int = MAX_LABEL) -> list[str]:
    return [label(t, limit) for t in tokens]


def _r(a: np.ndarray, nd: int = 3) -> np.ndarray:
    return np.round(np.asarray(a, dtype=np.float64), nd)


def _hover_matrix(q_labels: Sequence[str], k_labels: Sequence[str]) -> np.ndarray:
    """customdata (Tq, Tk, 2): the query and key label of every cell."""
    q = np.array(_labels(q_labels), dtype=object)
    k = np.array(_labels(k_labels), dtype=object)
    return np.stack(np.broadcast_arrays(q[:, None], k[None, :]), axis=-1)


def _grid(nr: int, nc: int, titles: Sequence[str] | None = None, *, hspace: float = 0.05,
          vspace: float = 0.1, shared_y: bool = False) -> tuple[dict, list[tuple[str, str]]]:
    """A subplot grid as a plain layout dict (much faster than make_subplots + update_*axes):
    returns (layout with xaxis/yaxis domains and title annotations, [(x ref, y ref)] row-major)."""
    layout: dict = {"annotations": []}
    refs = []
    w = (1 - hspace * (nc - 1)) / nc
    h = (1 - vspace * (nr - 1)) / nr
    for r in range(nr):
        for c in range(nc):
            n = r * nc + c + 1
            sx = "" if n == 1 else str(n)
            x0, y1 = c * (w + hspace), 1 - r * (h + vspace)
            layout[f"xaxis{sx}"] = {"domain": [max(0.0, x0), min(1.0, x0 + w)], "anchor": f"y{sx}"}
            layout[f"yaxis{sx}"] = {"domain": [max(0.0, y1 - h), min(1.0, y1)], "anchor": f"x{sx}"}
            if shared_y and n > 1:
                layout[f"yaxis{sx}"]["matches"] = "y"
            refs.append((f"x{sx}", f"y{sx}"))
            if titles:
                layout["annotations"].append({
                    "text": titles[n - 1], "x": x0 + w / 2, "y": y1, "xref": "paper", "yref": "paper",
                    "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14}})
    return layout, refs


def _axis_name(ref: str, axis: str) -> str:
    """"x3" -> "xaxis3", "y" -> "yaxis"."""
    return f"{axis}axis{ref[1:]}"


def _token_axis_dicts(q_labels: Sequence[str], k_labels: Sequence[str], *, show: bool = True,
                      x_title: str = "", y_title: str = "", font: int = 14,
                      limit: int = MAX_LABEL) -> tuple[dict, dict]:
    x = {"tickvals": list(range(len(k_labels))), "showticklabels": show, "tickfont": {"size": font},
         "tickangle": -45 if len(k_labels) > 6 else 0, "title": {"text": x_title}}
    y = {"tickvals": list(range(len(q_labels))), "showticklabels": show, "tickfont": {"size": font},
         "autorange": "reversed", "title": {"text": y_title}}
    if show:
        x["ticktext"], y["ticktext"] = _labels(k_labels, limit), _labels(q_labels, limit)
    return x, y


def _token_axes(fig: go.Figure, q_labels: Sequence[str], k_labels: Sequence[str], *, row: int | None = None,
                col: int | None = None, show: bool = True, x_title: str = "", y_title: str = "",
                font: int = 14) -> None:
    kw = {} if row is None else {"row": row, "col": col}
    fig.update_xaxes(tickvals=list(range(len(k_labels))), ticktext=_labels(k_labels) if show else None,
                     showticklabels=show, tickangle=-45 if len(k_labels) > 6 else 0, title_text=x_title,
                     tickfont={"size": font}, **kw)
    fig.update_yaxes(tickvals=list(range(len(q_labels))), ticktext=_labels(q_labels) if show else None,
                     showticklabels=show, autorange="reversed", title_text=y_title, tickfont={"size": font}, **kw)


def attention_heatmap(w: np.ndarray, q_labels: Sequence[str], k_labels: Sequence[str], *, title: str,
                      x_title: str, y_title: str, value: str, zmax: float | None = 1.0,
                      annotate: bool | None = None, height: int | None = None, diverging: bool = False) -> go.Figure:
    """Weights (Tq, Tk) as a heatmap: queries down, keys across, values printed in the cells when small."""
    w = np.asarray(w, dtype=np.float64)
    tq, tk = w.shape
    if annotate is None:
        annotate = tq * tk <= 144
    heat = go.Heatmap(
        z=_r(w), x=list(range(tk)), y=list(range(tq)), customdata=_hover_matrix(q_labels, k_labels),
        colorscale=DIVERGING if diverging else COLORSCALE, reversescale=diverging,
        zmin=None if diverging else 0, zmax=zmax, zmid=0 if diverging else None,
        hovertemplate=(f"{y_title}: %{{customdata[0]}}<br>{x_title}: %{{customdata[1]}}<br>"
                       f"{value}: %{{z:.3f}}<extra></extra>"),
        colorbar={"thickness": 14, "title": {"text": value, "side": "right"}},
        text=np.vectorize(lambda v: f"{v:.2f}")(w) if annotate else None,
        texttemplate="%{text}" if annotate else None, textfont={"size": 12},
        xgap=1, ygap=1,
    )
    fig = go.Figure(heat)
    _token_axes(fig, q_labels, k_labels, x_title=x_title, y_title=y_title)
    h = height or int(min(640, max(360, 150 + 34 * tq)))
    return style(fig, title, height=h)


def heads_grid(w: np.ndarray, q_labels: Sequence[str], k_labels: Sequence[str], *, title: str,
               row_titles: Sequence[str], col_titles: Sequence[str], x_title: str, y_title: str,
               value: str) -> go.Figure:
    """Weights (rows, cols, Tq, Tk) as a grid of small heatmaps (e.g. layers × heads), one colour scale."""
    w = np.asarray(w, dtype=np.float64)
    nr, nc, tq, tk = w.shape
    titles = [f"{r} · {c}" for r in row_titles for c in col_titles]
    show_ticks = tk <= 10 and nc <= 4
    # Small panels: labels of at most GRID_LABEL characters; slanted key labels (more than 6 keys)
    # need room below each row, or they run into the next row's panel titles.
    slanted = show_ticks and tk > 6 and max(map(len, k_labels), default=0) > 2
    vspace = (0.26 if slanted else 0.14) if nr > 1 else 0.0
    layout, refs = _grid(nr, nc, titles, hspace=0.04, vspace=vspace)
    custom = _hover_matrix(q_labels, k_labels)
    data = []
    for i in range(nr):
        for j in range(nc):
            xr, yr = refs[i * nc + j]
            data.append({
                "type": "heatmap", "z": _r(w[i, j]), "x": list(range(tk)), "y": list(range(tq)),
                "customdata": custom, "coloraxis": "coloraxis", "xgap": 1, "ygap": 1, "xaxis": xr, "yaxis": yr,
                "hovertemplate": (f"{row_titles[i]} · {col_titles[j]}<br>{y_title}: %{{customdata[0]}}<br>"
                                  f"{x_title}: %{{customdata[1]}}<br>{value}: %{{z:.3f}}<extra></extra>"),
            })
            xa, ya = _token_axis_dicts(q_labels, k_labels, show=show_ticks, font=11, limit=GRID_LABEL)
            if j > 0:                      # row labels once per row: they do not collide
                ya["showticklabels"] = False
            layout[_axis_name(xr, "x")].update(xa)
            layout[_axis_name(yr, "y")].update(ya)
    layout["coloraxis"] = {"colorscale": COLORSCALE, "cmin": 0, "cmax": 1,
                           "colorbar": {"thickness": 14, "title": {"text": value, "side": "right"}}}
    fig = go.Figure(data=data, layout=layout)
    per_row = (320 if slanted else 250) if show_ticks else 200
    style(fig, title, height=int(min(1000, 90 + per_row * nr)))
    fig.update_layout(margin={"l": 60, "r": 30, "t": 90, "b": 70 if slanted else 40})
    fig.update_yaxes(automargin=True)  # row labels push the grid right instead of being cut
    return fig


def metric_grid(values: np.ndarray, *, title: str, row_titles: Sequence[str], col_titles: Sequence[str],
                value: str, fmt: str = ".2f", colorscale: str = COLORSCALE, zmin: float | None = None,
                zmax: float | None = None, height: int = 320) -> go.Figure:
    """A (rows, cols) table of one statistic (e.g. entropy per layer × head) with printed values."""
    v = np.asarray(values, dtype=np.float64)
    fig = go.Figure(go.Heatmap(
        z=_r(v), x=list(col_titles), y=list(row_titles), colorscale=colorscale, zmin=zmin, zmax=zmax,
        text=np.vectorize(lambda a: format(a, fmt))(v), texttemplate="%{text}", textfont={"size": 16},
        hovertemplate=f"%{{y}} · %{{x}}<br>{value}: %{{z:{fmt}}}<extra></extra>",
        colorbar={"thickness": 14, "title": {"text": value, "side": "right"}}, xgap=2, ygap=2,
    ))
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, height=height)


# ----------------------------------------------------------------------------------------------
# Six steps

def step_bars(k_labels: Sequence[str], scores: np.ndarray, scaled: np.ndarray, weights: np.ndarray,
              allowed: np.ndarray, *, title: str, titles: Sequence[str], key_title: str,
              masked_label: str) -> go.Figure:
    """Three panels over the keys: q·k, ÷√d_k, softmax. Masked keys are grey with a note."""
    labels = _labels(k_labels)
    y = list(range(len(labels)))
    layout, refs = _grid(1, 3, list(titles), hspace=0.06, shared_y=True)
    allowed = np.asarray(allowed, dtype=bool)
    data = []
    for j, (vals, color) in enumerate(((scores, PALETTE[0]), (scaled, PALETTE[3]), (weights, PALETTE[2]))):
        vals = np.asarray(vals, dtype=np.float64)
        shown = np.where(allowed, vals, 0.0)
        text = [f"{v:.3f}" if a else masked_label for v, a in zip(vals, allowed, strict=True)]
        xr, yr = refs[j]
        data.append({
            "type": "bar", "x": _r(shown, 4), "y": y, "orientation": "h", "xaxis": xr, "yaxis": yr,
            "marker": {"color": [color if a else "#c8ccd4" for a in allowed]},
            "text": text, "textposition": "auto", "customdata": labels, "textfont": {"size": 13},
            "hovertemplate": f"{key_title}: %{{customdata}}<br>{titles[j]}: %{{text}}<extra></extra>",
            "showlegend": False,
        })
        layout[_axis_name(xr, "x")].update({"zeroline": True, "zerolinecolor": "#888"})
        layout[_axis_name(yr, "y")].update({"tickvals": y, "ticktext": labels, "autorange": "reversed",
                                            "showticklabels": j == 0})
    layout["yaxis"]["title"] = {"text": key_title}
    layout["xaxis3"]["range"] = [0, 1.05]
    for a in layout["annotations"]:
        a["font"] = {"size": 15}
    fig = go.Figure(data=data, layout=layout)
    return style(fig, title, height=int(min(620, max(320, 130 + 34 * len(labels)))))


def weighted_values(k_labels: Sequence[str], weighted: np.ndarray, context: np.ndarray, *, title: str,
                    key_title: str, dim_title: str, value: str, sum_label: str) -> go.Figure:
    """Steps 5 and 6: the rows weight_j · v_j (Tk, d_k), and their column sums = the context vector."""
    wv = np.asarray(weighted, dtype=np.float64)
    z = np.vstack([wv, np.asarray(context, dtype=np.float64)[None]])
    rows = [*_labels(k_labels), f"Σ = {sum_label}"]
    lim = float(np.abs(z).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=_r(z), x=list(range(z.shape[1])), y=list(range(len(rows))), colorscale=DIVERGING, reversescale=True,
        zmid=0, zmin=-lim, zmax=lim, customdata=np.array(rows, dtype=object)[:, None].repeat(z.shape[1], 1),
        hovertemplate=f"%{{customdata}}<br>{dim_title} %{{x}}<br>{value}: %{{z:.3f}}<extra></extra>",
        colorbar={"thickness": 14}, xgap=1, ygap=1,
    ))
    fig.add_hline(y=len(rows) - 1.5, line={"color": "#1d2330", "width": 3})
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=rows, autorange="reversed", title_text=key_title)
    fig.update_xaxes(title_text=dim_title)
    return style(fig, title, height=int(min(620, max(320, 140 + 30 * len(rows)))))


def vectors_heatmap(rows: Sequence[str], mat: np.ndarray, *, title: str, dim_title: str, value: str) -> go.Figure:
    """Step 1: the query vector and the key / value vectors of one head, one row each."""
    m = np.asarray(mat, dtype=np.float64)
    lim = float(np.abs(m).max()) or 1.0
    labels = [label(r) for r in rows]
    fig = go.Figure(go.Heatmap(
        z=_r(m), x=list(range(m.shape[1])), y=list(range(len(labels))), colorscale=DIVERGING, reversescale=True,
        zmid=0, zmin=-lim, zmax=lim, customdata=np.array(labels, dtype=object)[:, None].repeat(m.shape[1], 1),
        hovertemplate=f"%{{customdata}}<br>{dim_title} %{{x}}<br>{value}: %{{z:.3f}}<extra></extra>",
        colorbar={"thickness": 14}, xgap=1, ygap=1,
    ))
    fig.update_yaxes(tickvals=list(range(len(labels))), ticktext=labels, autorange="reversed")
    fig.update_xaxes(title_text=dim_title)
    return style(fig, title, height=int(min(700, max(300, 120 + 24 * len(labels)))))


# ----------------------------------------------------------------------------------------------
# Why ÷√d_k

def variance_plot(d_ks: Sequence[int], var_raw: Sequence[float], var_scaled: Sequence[float], current: int, *,
                  title: str, x_title: str, y_title: str, raw_label: str, scaled_label: str,
                  theory_label: str, one_label: str) -> go.Figure:
    """Measured Var(q·k) against d_k (theory: the line y = d_k), and after ÷√d_k (theory: 1), log–log."""
    d = np.asarray(d_ks, dtype=np.float64)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=d, y=d, mode="lines", name=theory_label, line={"color": "#9aa5b8", "width": 6},
                             hovertemplate=f"d_k %{{x}}<br>{theory_label}: %{{y:.0f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=d, y=np.ones_like(d), mode="lines", name=one_label,
                             line={"color": "#9aa5b8", "width": 6, "dash": "dot"},
                             hovertemplate=f"d_k %{{x}}<br>{one_label}<extra></extra>"))
    for vals, name, color, sym in ((var_raw, raw_label, PALETTE[1], "circle"),
                                   (var_scaled, scaled_label, PALETTE[0], "diamond")):
        fig.add_trace(go.Scatter(x=d, y=_r(vals), mode="markers+lines", name=name,
                                 marker={"size": 11, "color": color, "symbol": sym}, line={"width": 2, "color": color},
                                 hovertemplate=f"d_k %{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.add_vline(x=current, line={"color": PALETTE[3], "width": 3, "dash": "dash"})
    fig.update_xaxes(type="log", title_text=x_title, tickvals=list(d_ks), ticktext=[str(v) for v in d_ks])
    fig.update_yaxes(type="log", title_text=y_title)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=460)


def qk_histogram(centers: np.ndarray, raw_counts: np.ndarray, scaled_counts: np.ndarray, *, title: str,
                 x_title: str, y_title: str, raw_label: str, scaled_label: str) -> go.Figure:
    """Pre-binned histograms (common bins) of q·k and q·k/√d_k."""
    centers = np.asarray(centers, dtype=np.float64)
    width = float(centers[1] - centers[0]) if len(centers) > 1 else 1.0
    fig = go.Figure()
    for counts, name, color in ((raw_counts, raw_label, PALETTE[1]), (scaled_counts, scaled_label, PALETTE[0])):
        fig.add_trace(go.Bar(x=_r(centers), y=np.asarray(counts), name=name, marker_color=color, opacity=0.7,
                             width=width,
                             hovertemplate=f"{name}<br>{x_title} ≈ %{{x:.2f}}<br>{y_title}: %{{y}}<extra></extra>"))
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return style(fig, title, height=420)


def saturation_plot(d_ks: Sequence[int], series: dict[str, tuple[Sequence[float], Sequence[float]]], current: int,
                    *, title: str, x_title: str, raw_label: str, scaled_label: str) -> go.Figure:
    """One panel per statistic (name -> (raw values, scaled values)) against d_k on a log axis."""
    names = list(series)
    layout, refs = _grid(1, len(names), names, hspace=0.08)
    data = []
    for j, name in enumerate(names):
        raw, scaled = series[name]
        xr, yr = refs[j]
        for vals, lab, color, sym in ((raw, raw_label, PALETTE[1], "circle"), (scaled, scaled_label, PALETTE[0], "diamond")):
            data.append({"type": "scatter", "x": list(d_ks), "y": _r(vals), "mode": "markers+lines", "name": lab,
                         "legendgroup": lab, "showlegend": j == 0, "marker": {"size": 9, "color": color, "symbol": sym},
                         "line": {"width": 2, "color": color}, "xaxis": xr, "yaxis": yr,
                         "hovertemplate": f"d_k %{{x}}<br>{name} ({lab}): %{{y:.3f}}<extra></extra>"})
        layout[_axis_name(xr, "x")].update({"type": "log", "title": {"text": x_title},
                                            "tickvals": [1, 4, 16, 64, 256, 1024]})
        layout[_axis_name(yr, "y")].update({"rangemode": "tozero"})
        layout.setdefault("shapes", []).append({
            "type": "line", "x0": current, "x1": current, "xref": xr, "y0": 0, "y1": 1,
            "yref": f"{yr} domain", "line": {"color": PALETTE[3], "width": 2, "dash": "dash"}})
    for a in layout["annotations"]:
        a["font"] = {"size": 15}
    layout["legend"] = {"orientation": "h", "y": -0.3}
    fig = go.Figure(data=data, layout=layout)
    return style(fig, title, height=440)


def softmax_example(raw_p: np.ndarray, scaled_p: np.ndarray, *, title: str, x_title: str, y_title: str,
                    raw_label: str, scaled_label: str) -> go.Figure:
    """Softmax weights of one query over a few keys, without and with the scale."""
    n = len(raw_p)
    fig = go.Figure()
    for vals, name, color in ((raw_p, raw_label, PALETTE[1]), (scaled_p, scaled_label, PALETTE[0])):
        fig.add_trace(go.Bar(x=[f"k{j + 1}" for j in range(n)], y=_r(vals), name=name, marker_color=color,
                             text=[f"{v:.2f}" for v in vals], textposition="outside",
                             hovertemplate=f"%{{x}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.update_yaxes(title_text=y_title, range=[0, 1.12])
    fig.update_xaxes(title_text=x_title)
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=400)


# ----------------------------------------------------------------------------------------------
# Side-by-side comparisons (W_Q vs shared, scaled vs unscaled)

def pair_heatmaps(a: np.ndarray, b: np.ndarray, q_labels: Sequence[str], k_labels: Sequence[str], *,
                  title: str, titles: Sequence[str], x_title: str, y_title: str, value: str,
                  zmin: float | None = None, zmax: float | None = None, diverging: bool = False) -> go.Figure:
    """Two (Tq, Tk) matrices side by side on one colour scale."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    tq, tk = a.shape
    if diverging:
        lim = float(max(np.abs(a).max(), np.abs(b).max())) or 1.0
        zmin, zmax = -lim, lim
    layout, refs = _grid(1, 2, list(titles), hspace=0.1)
    custom = _hover_matrix(q_labels, k_labels)
    annotate = tq * tk <= 100
    data = []
    for j, m in enumerate((a, b)):
        xr, yr = refs[j]
        trace = {"type": "heatmap", "z": _r(m), "x": list(range(tk)), "y": list(range(tq)), "customdata": custom,
                 "coloraxis": "coloraxis", "xgap": 1, "ygap": 1, "xaxis": xr, "yaxis": yr,
                 "hovertemplate": (f"{titles[j]}<br>{y_title}: %{{customdata[0]}}<br>{x_title}: %{{customdata[1]}}"
                                   f"<br>{value}: %{{z:.3f}}<extra></extra>")}
        if annotate:
            trace.update(text=np.vectorize(lambda v: f"{v:.2f}")(m), texttemplate="%{text}", textfont={"size": 11})
        data.append(trace)
        xa, ya = _token_axis_dicts(q_labels, k_labels, x_title=x_title, y_title=y_title if j == 0 else "", font=13)
        layout[_axis_name(xr, "x")].update(xa)
        layout[_axis_name(yr, "y")].update(ya)
    for ann in layout["annotations"]:
        ann["font"] = {"size": 15}
    layout["coloraxis"] = {"colorscale": DIVERGING if diverging else COLORSCALE, "reversescale": diverging,
                           "cmin": zmin, "cmax": zmax, "cmid": 0 if diverging else None,
                           "colorbar": {"thickness": 14, "title": {"text": value, "side": "right"}}}
    fig = go.Figure(data=data, layout=layout)
    return style(fig, title, height=int(min(640, max(380, 170 + 32 * tq))))


def row_bars(q_labels: Sequence[str], on: np.ndarray, off: np.ndarray, *, title: str, y_title: str,
             x_title: str, on_label: str, off_label: str, y_max: float | None = None) -> go.Figure:
    """One value per query row (e.g. its largest weight), with and without the scale."""
    labels = _labels(q_labels)
    x = list(range(len(labels)))
    fig = go.Figure()
    for vals, name, color in ((on, on_label, PALETTE[0]), (off, off_label, PALETTE[1])):
        fig.add_trace(go.Bar(x=x, y=_r(vals), name=name, marker_color=color, customdata=labels,
                             hovertemplate=f"{x_title}: %{{customdata}}<br>{name}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(tickvals=x, ticktext=labels, title_text=x_title, tickangle=-45 if len(x) > 8 else 0)
    fig.update_yaxes(title_text=y_title, range=[0, y_max] if y_max else None, rangemode="tozero")
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": -0.3})
    return style(fig, title, height=400)
