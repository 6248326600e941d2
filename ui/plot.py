"""Show a plotly figure with the house download settings."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from figures.style import download_config
from ui import shell


def show(fig: go.Figure, name: str) -> None:
    """Render `fig`; `name` is a stable id used for the element key and the download file name."""
    st.plotly_chart(fig, config=download_config(f"{shell.current_page()}-{name}"),
                    key=f"fig:{shell.current_page()}:{name}", width="stretch", theme=None)
