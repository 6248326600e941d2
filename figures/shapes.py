"""Figures of the shape tracer. Pure: step labels, shapes and symbols in, figures out."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from figures.style import PALETTE, style

# one colour per dimension symbol, the same in every figure and table
SYMBOL_COLORS = {
    "B": PALETTE[6], "S": PALETTE[0], "T": PALETTE[1], "h": PALETTE[4], "d_k": PALETTE[5],
    "d_model": PALETTE[2], "d_ff": PALETTE[3], "V": PALETTE[7],
}


# Each step is a row of ROW_PX pixels: its name on top (inside the plot), its boxes below it.
ROW_PX = 48
BAR_WIDTH = 0.5     # of a row
BAR_DROP = 0.24     # the boxes' centre, below the row's tick (where the name sits)


def shape_flow(labels: Sequence[str], shapes: Sequence[Sequence[int]], symbols: Sequence[Sequence[str]], *,
               title: str, step_title: str, legend: dict[str, str],
               hidden: Sequence[bool] | None = None, hidden_text: str = "?") -> go.Figure:
    """One row per step (top to bottom), one coloured box per dimension: "symbol = size".
    `legend` maps each symbol to its explanation; `hidden` rows show `hidden_text` boxes instead."""
    n = len(labels)
    hidden = list(hidden) if hidden is not None else [False] * n
    by_symbol: dict[str, dict[str, list]] = {}
    hid: dict[str, list] = {"y": [], "text": [], "custom": []}
    for i, (shape, syms) in enumerate(zip(shapes, symbols, strict=True)):
        if hidden[i]:   # one grey box: not even the number of dimensions is given away
            hid["y"].append(i)
            hid["text"].append(hidden_text)
            hid["custom"].append(labels[i])
            continue
        for j, (size, sym) in enumerate(zip(shape, syms, strict=True)):
            d = by_symbol.setdefault(sym, {"x": [], "y": [], "text": [], "custom": []})
            d["x"].append(j)
            d["y"].append(i)
            d["text"].append(f"{sym}={size}")
            d["custom"].append([labels[i], sym, size, legend.get(sym, sym)])
    data = []
    for sym, color in SYMBOL_COLORS.items():
        d = by_symbol.get(sym)
        if not d:
            continue
        data.append(go.Bar(
            y=[y + BAR_DROP for y in d["y"]], x=[0.94] * len(d["x"]), base=[j + 0.03 for j in d["x"]],
            orientation="h", text=d["text"], width=BAR_WIDTH,
            customdata=d["custom"], name=f"{sym}: {legend.get(sym, sym)}", marker={"color": color},
            textposition="inside", insidetextanchor="middle", textfont={"color": "white", "size": 13}, textangle=0,
            hovertemplate=(f"{step_title}: %{{customdata[0]}}<br>%{{customdata[1]}} = %{{customdata[2]}}"
                           "<br>%{customdata[3]}<extra></extra>"),
        ))
    if hid["y"]:
        data.append(go.Bar(
            y=[y + BAR_DROP for y in hid["y"]], x=[3.94] * len(hid["y"]), base=[0.03] * len(hid["y"]),
            orientation="h", width=BAR_WIDTH,
            text=hid["text"], customdata=hid["custom"], marker={"color": "#d5d9e0"}, showlegend=False,
            textposition="inside", insidetextanchor="middle", textfont={"size": 14, "color": "#1d2330"}, textangle=0,
            hovertemplate=f"{step_title}: %{{customdata}}<br>{hidden_text}<extra></extra>",
        ))
    fig = go.Figure(data)
    fig.update_layout(barmode="overlay", bargap=0.25)
    # the boxes of a row are its dimensions, left to right (the title says so): no x ticks or title
    fig.update_xaxes(showticklabels=False, range=[0, 4], side="top", zeroline=False, showgrid=False)
    # An explicit range of exactly n rows, top to bottom (autorange left ~9 empty rows at the
    # bottom). Each step's name is written inside the plot, above its boxes, rather than as a tick
    # label in a left margin: a margin wide enough for the names left the boxes a sliver on a
    # narrow screen (an 800 px projector with the sidebar open).
    fig.update_yaxes(tickvals=list(range(n)), ticktext=list(labels), range=[n - 0.5, -0.5],
                     ticklabelposition="inside top", ticks="", showgrid=False, zeroline=False,
                     tickfont={"size": 13, "color": "#3d4452"})
    # The legend (one line per symbol) sits in a bottom margin sized for it, anchored to the
    # figure's bottom edge: placed under the plot area it left ~250 px of blank space above it.
    legend_h = 22 * len(by_symbol) + 30
    style(fig, title, height=int(120 + ROW_PX * n + legend_h))
    fig.update_layout(legend={"orientation": "v", "x": 0, "y": 0, "yref": "container", "yanchor": "bottom",
                              "font": {"size": 13}},
                      margin={"l": 10, "r": 20, "t": 80, "b": legend_h},
                      uniformtext={"minsize": 10, "mode": "show"})
    return fig
