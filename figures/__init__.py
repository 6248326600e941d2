"""Figure builders: pure functions from arrays to plotly figures (no Streamlit).

numpy is imported here, before any figure is built: plotly looks numpy up in `sys.modules`
without importing it, and a numpy that another thread is still importing (the app's background
warm-up imports torch, hence numpy, while a visitor opens a chart page) is half-initialised there:
plotly then fails with "partially initialized module 'numpy' has no attribute 'ndarray'". An
`import` waits for that other import to finish.
"""
import numpy  # noqa: F401
