"""Show a plotly figure with the house download settings."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from figures.cache import FIGURES, args_key
from figures.style import download_config
from ui import shell


def show(fig: go.Figure, name: str) -> None:
    """Render `fig`; `name` is a stable id used for the element key and the download file name."""
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
