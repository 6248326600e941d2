"""The size-bounded figure cache behind ui.plot.cached / ui.plot.call."""
import gc
import threading
import tracemalloc

import numpy as np
import plotly.graph_objects as go

from figures.cache import FigureCache, approx_bytes, args_key, budget_from_env
from figures.style import style


def heat(n: int, seed: int = 0) -> go.Figure:
    z = np.random.default_rng(seed).random((n, n))
    return style(go.Figure(go.Heatmap(z=z, text=[[f"{v:.2f}" for v in row] for row in z])), "t")


def test_approx_bytes_tracks_real_memory_within_a_factor_of_two():
    heat(8)   # plotly loads its validators on first use: not part of a figure
    for n in (8, 64, 200):
        gc.collect()
        tracemalloc.start()
        fig = heat(n)
        real = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        est = approx_bytes(fig)
        assert real / 2 <= est <= real * 2, (n, est, real)
    assert approx_bytes(heat(200)) > 50 * approx_bytes(heat(8))


def test_cache_stays_within_its_budget_and_evicts_least_recently_used():
    one = approx_bytes(heat(32))
    cache = FigureCache(budget_bytes=int(one * 4.5))
    for i in range(20):
        cache.get_or_build(("h", i), lambda i=i: heat(32, i))
    s = cache.stats()
    assert s["entries"] == 4 and s["bytes"] <= s["budget"] and s["misses"] == 20
    built = []
    assert cache.get_or_build(("h", 19), lambda: built.append(1) or heat(32, 19)) is not None
    assert built == [] and cache.stats()["hits"] == 1               # newest kept
    cache.get_or_build(("h", 0), lambda: built.append(1) or heat(32, 0))
    assert built == [1]                                              # oldest was evicted


def test_a_figure_larger_than_the_budget_is_returned_not_kept():
    cache = FigureCache(budget_bytes=1000)
    fig = cache.get_or_build("big", lambda: heat(16))
    assert isinstance(fig, go.Figure) and cache.stats()["entries"] == 0


def test_args_key_follows_array_contents_and_refuses_unpicklable_args():
    a = np.arange(12.0).reshape(3, 4)
    assert args_key(heat, (a,), {"title": "x"}) == args_key(heat, (a.copy(),), {"title": "x"})
    assert args_key(heat, (a,), {"title": "x"}) != args_key(heat, (a + 1e-9,), {"title": "x"})
    assert args_key(heat, (a,), {"title": "x"}) != args_key(heat, (a,), {"title": "y"})
    assert args_key(heat, (lambda: 1,), {}) is None


def test_concurrent_sessions_share_one_figure():
    cache = FigureCache(budget_bytes=50 * 2**20)
    out = []
    threads = [threading.Thread(target=lambda: out.append(cache.get_or_build("k", lambda: heat(16))))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 8 and cache.stats()["entries"] == 1
    assert cache.get_or_build("k", lambda: heat(16)) is out[-1] or cache.stats()["hits"] >= 1


def test_budget_from_env(monkeypatch):
    monkeypatch.setenv("TIL_FIGURE_CACHE_MB", "2")
    assert budget_from_env() == 2 * 2**20
    monkeypatch.setenv("TIL_FIGURE_CACHE_MB", "lots")
    assert budget_from_env() == 96 * 2**20
    monkeypatch.setenv("TIL_FIGURE_CACHE_MB", "0")
    cache = FigureCache(budget_from_env())
    cache.get_or_build("k", lambda: heat(4))
    assert cache.stats()["entries"] == 0
