"""Pure figure builders for the study stats page (data in, plotly figures out).

Every text shown in a figure (titles, axis labels, weekday names) is passed in by the caller, so
the page can translate it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import plotly.graph_objects as go

from figures.style import PALETTE, style


def integer_ticks(top: int, most: int = 6) -> dict:
    """Colour-bar ticks at whole numbers only (a count of reviews is never 2.5): 0, step, 2 step..."""
    step = max(1, math.ceil(top / (most - 1)))
    return {"tickmode": "array", "tickvals": list(range(0, top + 1, step)),
            "ticktext": [str(v) for v in range(0, top + 1, step)]}


def calendar_heatmap(per_day: dict[date, int] | Sequence[tuple[date, int]], end: date, *, weeks: int = 26, title: str,
                     weekdays: Sequence[str], x_title: str, hover_reviews: str) -> go.Figure:
    """Reviews per day as a GitHub-style calendar: columns are weeks (Monday first), rows weekdays."""
    per_day = dict(per_day)
    zmax = max([1, *per_day.values()])
    last_monday = end - timedelta(days=end.weekday())
    first_monday = last_monday - timedelta(weeks=weeks - 1)
    cols = [first_monday + timedelta(weeks=i) for i in range(weeks)]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for wd in range(7):
        row, trow = [], []
        for monday in cols:
            d = monday + timedelta(days=wd)
            if d > end:
                row.append(None)
                trow.append("")
            else:
                row.append(per_day.get(d, 0))
                trow.append(d.isoformat())
        z.append(row)
        text.append(trow)
    fig = go.Figure(go.Heatmap(
        z=z, x=[c.isoformat() for c in cols], y=list(weekdays), text=text, xgap=3, ygap=3,
        colorscale=[[0, "#ebedf0"], [0.01, "#c6e48b"], [0.4, "#7bc96f"], [0.7, "#239a3b"], [1, "#196127"]],
        zmin=0, zmax=zmax,
        hovertemplate=f"%{{text}}<br>{hover_reviews}: %{{z}}<extra></extra>",
        colorbar={"title": {"text": hover_reviews}, "thickness": 12, **integer_ticks(zmax)},
    ))
    fig.update_yaxes(autorange="reversed", title_text="")
    fig.update_xaxes(title_text=x_title, type="category", tickangle=-45, nticks=14)
    return style(fig, title, height=320)


def retention_line(days: Sequence[date], retained: Sequence[float], counts: Sequence[int], *, title: str,
                   x_title: str, y_title: str, hover_reviews: str, target: float = 0.9,
                   target_label: str = "", end: date | None = None, span_days: int = 30) -> go.Figure:
    """Share of reviews not rated Again, per day (marker size grows with that day's reviews)."""
    fig = go.Figure(go.Scatter(
        x=[d.isoformat() for d in days], y=[100 * r for r in retained], mode="lines+markers",
        marker={"size": [min(22, 6 + c) for c in counts], "color": PALETTE[0]},
        customdata=list(counts),
        hovertemplate=f"%{{x}}<br>{y_title}: %{{y:.0f}}%<br>{hover_reviews}: %{{customdata}}<extra></extra>",
        name=y_title,
    ))
    fig.add_hline(y=100 * target, line_dash="dot", line_color=PALETTE[2],
                  annotation_text=target_label, annotation_position="bottom right")
    fig.update_yaxes(title_text=y_title, range=[0, 105], ticksuffix="%")
    last = end or (max(days) if days else date.today())
    first = min([last - timedelta(days=span_days - 1), *days])
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d", ticklabelstandoff=8,
                     range=[(first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()])
    return style(fig, title, height=360)


def forecast_bar(days: Sequence[date], counts: Sequence[int], *, title: str, x_title: str,
                 y_title: str) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[d.isoformat() for d in days], y=list(counts), marker_color=PALETTE[0],
        hovertemplate=f"%{{x}}<br>{y_title}: %{{y}}<extra></extra>", name=y_title,
    ))
    fig.update_yaxes(title_text=y_title, rangemode="tozero", dtick=1 if max([0, *counts]) <= 8 else None)
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d", ticklabelstandoff=8)
    return style(fig, title, height=360)


def mastery_bar(topics: Sequence[str], mastered: Sequence[float], studied: Sequence[float], *, title: str,
                x_title: str, mastered_label: str, studied_label: str) -> go.Figure:
    """Per topic: share of cards mastered and share studied (horizontal bars, %)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(y=list(topics), x=[100 * s for s in studied], orientation="h", name=studied_label,
                         marker_color="#b9cde5",
                         hovertemplate=f"%{{y}}<br>{studied_label}: %{{x:.0f}}%<extra></extra>"))
    fig.add_trace(go.Bar(y=list(topics), x=[100 * m for m in mastered], orientation="h", name=mastered_label,
                         marker_color=PALETTE[2],
                         hovertemplate=f"%{{y}}<br>{mastered_label}: %{{x:.0f}}%<extra></extra>"))
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text=x_title, range=[0, 100], ticksuffix="%")
    fig.update_yaxes(autorange="reversed", title_text="")
    return style(fig, title, height=max(300, 60 + 34 * len(topics)))


def retention_by_topic(series: Mapping[str, Sequence[tuple[date, float, int]]], *, title: str, x_title: str,
                       y_title: str, hover_reviews: str, target: float = 0.9) -> go.Figure:
    """Per topic, the share of reviews not rated Again in each week (one line per topic)."""
    fig = go.Figure()
    for i, (name, points) in enumerate(series.items()):
        fig.add_trace(go.Scatter(
            x=[d.isoformat() for d, _, _ in points], y=[100 * r for _, r, _ in points], mode="lines+markers",
            name=name, customdata=[n for _, _, n in points], line={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate=f"{name}<br>%{{x}}<br>{y_title}: %{{y:.0f}}%<br>{hover_reviews}: %{{customdata}}<extra></extra>"))
    fig.add_hline(y=100 * target, line_dash="dot", line_color=PALETTE[6])
    fig.update_yaxes(title_text=y_title, range=[0, 105], ticksuffix="%")
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d", ticklabelstandoff=8)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return style(fig, title, height=400)


def workload_lines(start: date, load: Mapping[float, Sequence[int]] | Sequence[tuple[float, Sequence[int]]],
                   chosen: float, *, title: str, x_title: str,
                   y_title: str, retention_label: str) -> go.Figure:
    """Predicted reviews per day at each desired retention; the chosen one drawn thick."""
    fig = go.Figure()
    for r, counts in sorted(dict(load).items()):
        on = abs(r - chosen) < 1e-9
        fig.add_trace(go.Scatter(
            x=[(start + timedelta(days=i)).isoformat() for i in range(len(counts))], y=list(counts),
            mode="lines", name=f"{retention_label} {round(100 * r)}%  (Σ {sum(counts)})",
            line={"width": 4 if on else 1.5, "color": PALETTE[1] if on else None}, opacity=1 if on else 0.55,
            hovertemplate=f"%{{x}}<br>{retention_label} {round(100 * r)}%<br>{y_title}: %{{y}}<extra></extra>"))
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d", ticklabelstandoff=8)
    return style(fig, title, height=400)


def plan_bars(days: Sequence[date], new: Sequence[int], reviews: Sequence[int], cap: int, *, title: str,
              x_title: str, y_title: str, new_label: str, reviews_label: str, cap_label: str) -> go.Figure:
    """The plan: new cards and reviews per study day (stacked), the daily cap as a line."""
    x = [d.isoformat() for d in days]
    fig = go.Figure([
        go.Bar(x=x, y=list(reviews), name=reviews_label, marker_color=PALETTE[0],
               hovertemplate=f"%{{x}}<br>{reviews_label}: %{{y}}<extra></extra>"),
        go.Bar(x=x, y=list(new), name=new_label, marker_color=PALETTE[3],
               hovertemplate=f"%{{x}}<br>{new_label}: %{{y}}<extra></extra>"),
    ])
    fig.add_hline(y=cap, line_dash="dot", line_color=PALETTE[1], annotation_text=cap_label,
                  annotation_position="top left")
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.25})
    fig.update_yaxes(title_text=y_title, rangemode="tozero")
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d", ticklabelstandoff=8)
    return style(fig, title, height=380)


def recall_on_date_bar(topics: Sequence[str], recall: Sequence[float], target: float, *, title: str,
                       x_title: str, target_label: str) -> go.Figure:
    """Predicted recall on the interview date per topic (horizontal bars, %), the target as a line."""
    colors = [PALETTE[2] if r >= target else PALETTE[1] for r in recall]
    fig = go.Figure(go.Bar(y=list(topics), x=[100 * r for r in recall], orientation="h", marker_color=colors,
                           hovertemplate=f"%{{y}}<br>{x_title}: %{{x:.0f}}%<extra></extra>"))
    fig.add_vline(x=100 * target, line_dash="dot", line_color=PALETTE[6], annotation_text=target_label,
                  annotation_position="top")
    fig.update_xaxes(title_text=x_title, range=[0, 100], ticksuffix="%")
    fig.update_yaxes(autorange="reversed", title_text="")
    return style(fig, title, height=max(300, 80 + 34 * len(topics)))
