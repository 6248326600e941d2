"""Show a plotly figure with the house download settings."""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from figures.cache import FIGURES, args_key
from figures.style import download_config
from ui import shell

_KINDS = {"heatmap": "heatmap", "bar": "bar", "surface": "3d", "mesh3d": "3d", "scatter3d": "3d",
          "cone": "3d", "histogram": "bar", "box": "box", "violin": "box", "table": "table"}


def _plain(text: object) -> str:
    """Plotly title/axis text without its HTML (<br>, <b>, <sup>) and entities."""
    return html.unescape(re.sub(r"<br\s*/?>", " ", re.sub(r"<(?!br)[^>]*>", "", str(text or "")))).strip()


def _axis_title(axis: object) -> str:
    title = getattr(axis, "title", None)
    return _plain(getattr(title, "text", None)) if title is not None else ""


def alt_text(fig: go.Figure, name: str, summary: str | None = None) -> str:
    """The chart's text alternative: its title and a one-line summary (what kind of chart, what
    its axes show, how many series), or the page's own `summary` when it gives one."""
    title = _plain(fig.layout.title.text) or name.replace("_", " ")
    if summary:
        return shell.t("chart_alt", title=title, summary=summary)
    kinds = []
    for trace in fig.data:
        kind = _KINDS.get(trace.type, "chart")
        if trace.type == "scatter":
            kind = "line" if "lines" in (trace.mode or "lines") else "scatter"
        if kind not in kinds:
            kinds.append(kind)
    parts = [" / ".join(shell.t(f"chart_kind_{k}") for k in kinds or ["chart"])]
    x, y = _axis_title(fig.layout.xaxis), _axis_title(fig.layout.yaxis)
    if x or y:
        parts.append(shell.t("chart_axes", x=x or "-", y=y or "-"))
    if len(fig.data) > 1:
        parts.append(shell.t("chart_series", n=len(fig.data)))
    return shell.t("chart_alt", title=title, summary=shell.t("chart_join").join(parts))


def show(fig: go.Figure, name: str, summary: str | None = None) -> None:
    """Render `fig`; `name` is a stable id used for the element key and the download file name.

    The chart's text alternative (`alt_text`: title plus a one-line summary) travels in the
    figure's `layout.meta.alt`; the shell's script (ui.shell.apply_base) puts it on the chart as
    role="figure" + aria-label for screen readers."""
    alt = alt_text(fig, name, summary)
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    if meta.get("alt") != alt:  # same value on every show of a cached figure: set once
        fig.layout.meta = {**meta, "alt": alt}
    st.plotly_chart(fig, config=download_config(f"{shell.current_page()}-{name}"),
                    key=f"fig:{shell.current_page()}:{name}", width="stretch", theme=None)


def cached(name: str, key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """`build()`, kept per process by (page, `name`, `key`, language) in the size-bounded figure
    cache (figures.cache.FIGURES): plotly builds a figure slowly (~2-30 ms), so a rerun that shows
    the same figure again reuses it. `key` must hold every value the figure depends on; the
    caller must not mutate the returned figure."""
    return FIGURES.get_or_build((shell.current_page() or "", name, key, shell.lang()), build)


def call(builder: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    """`builder(*args, **kwargs)` through the same cache, keyed by a digest of the builder and its
    arguments (arrays, translated titles): the usual way a page asks for a figure."""
    key = args_key(builder, args, kwargs)
    if key is None:
        return builder(*args, **kwargs)
    return cached(builder.__qualname__, (key,), lambda: builder(*args, **kwargs))
