"""Show a plotly figure with the house download settings."""
from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from figures.style import download_config
from ui import shell


def show(fig: go.Figure, name: str) -> None:
    """Render `fig`; `name` is a stable id used for the element key and the download file name."""
    st.plotly_chart(fig, config=download_config(f"{shell.current_page()}-{name}"),
                    key=f"fig:{shell.current_page()}:{name}", width="stretch", theme=None)


@st.cache_resource(show_spinner=False, max_entries=512)
def _built(page: str, name: str, key: tuple, lang: str, _build: Callable[[], go.Figure]) -> go.Figure:
    return _build()


def cached(name: str, key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """`build()`, kept per process by (page, `name`, `key`, language): plotly builds a figure
    slowly (~10-30 ms), so a rerun that shows the same figure again reuses it. `key` must hold
    every value the figure depends on; the caller must not mutate the returned figure."""
    return _built(shell.current_page() or "", name, key, shell.lang(), build)
