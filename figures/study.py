"""Pure figure builders for the study stats page (data in, plotly figures out).

Every text shown in a figure (titles, axis labels, weekday names) is passed in by the caller, so
the page can translate it.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import plotly.graph_objects as go

from figures.style import PALETTE, style


def calendar_heatmap(per_day: dict[date, int] | Sequence[tuple[date, int]], end: date, *, weeks: int = 26, title: str,
                     weekdays: Sequence[str], x_title: str, hover_reviews: str) -> go.Figure:
    """Reviews per day as a GitHub-style calendar: columns are weeks (Monday first), rows weekdays."""
    per_day = dict(per_day)
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
        zmin=0, zmax=max([1, *per_day.values()]),
        hovertemplate=f"%{{text}}<br>{hover_reviews}: %{{z}}<extra></extra>",
        colorbar={"title": {"text": hover_reviews}, "thickness": 12},
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
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d",
                     range=[(first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()])
    return style(fig, title, height=360)


def forecast_bar(days: Sequence[date], counts: Sequence[int], *, title: str, x_title: str,
                 y_title: str) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=[d.isoformat() for d in days], y=list(counts), marker_color=PALETTE[0],
        hovertemplate=f"%{{x}}<br>{y_title}: %{{y}}<extra></extra>", name=y_title,
    ))
    fig.update_yaxes(title_text=y_title, rangemode="tozero", dtick=1 if max([0, *counts]) <= 8 else None)
    fig.update_xaxes(title_text=x_title, type="date", tickformat="%m-%d")
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
