"""Figure builders: pure functions from arrays to plotly figures (no Streamlit)."""
