"""A process-wide, size-bounded cache of built figures (plain Python, no Streamlit).

Building a plotly figure costs milliseconds to tens of milliseconds (validation of every
property); a rerun that shows the same figure again should reuse it. A class of students
exploring every slider value creates a new figure per setting, so the cache is bounded by the
approximate memory its figures hold (least recently used out first), not by a count: one
positional-encoding heatmap weighs as much as a thousand small bar charts.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import plotly.graph_objects as go
from cachetools import LRUCache

DEFAULT_BUDGET_MB = 96
_SAMPLE = 32          # long lists: size estimated from their first items


def approx_bytes(obj: Any) -> int:
    """Rough in-memory size of a figure's raw data (dicts, lists, arrays, strings), walked in
    well under a millisecond even for a 100,000-cell heatmap (long lists are sampled)."""
    if isinstance(obj, go.Figure):
        return approx_bytes(obj._data) + approx_bytes(obj._layout)  # the raw property dicts
    if isinstance(obj, np.ndarray):
        return obj.nbytes + 112
    if isinstance(obj, str):
        return 50 + len(obj.encode("utf-8", "surrogatepass"))
    if isinstance(obj, dict):
        return 64 + sum(60 + approx_bytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        n = len(obj)
        head = obj[:_SAMPLE]
        sampled = sum(approx_bytes(v) for v in head)
        return 56 + 8 * n + (sampled * n // len(head) if head else 0)
    return 32


def args_key(fn: Callable, args: tuple, kwargs: dict) -> bytes | None:
    """A digest of a builder and its arguments (arrays included), or None when an argument
    cannot be pickled (then the figure is simply not cached)."""
    try:
        blob = pickle.dumps((fn.__module__, fn.__qualname__, args, sorted(kwargs.items())), protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.blake2b(blob, digest_size=20).digest()


class FigureCache:
    """LRU of figures bounded by `approx_bytes`; thread-safe (Streamlit runs sessions in threads).
    A figure larger than the whole budget is returned but not kept. Callers must not mutate
    returned figures: every session shares them."""

    def __init__(self, budget_bytes: int):
        self.budget = int(budget_bytes)
        self._lru: LRUCache = LRUCache(maxsize=self.budget, getsizeof=approx_bytes)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_build(self, key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
        with self._lock:
            fig = self._lru.get(key)
            if fig is not None:
                self.hits += 1
                return fig
            self.misses += 1
        fig = build()   # outside the lock: another session may build the same figure meanwhile
        with self._lock:
            try:
                self._lru[key] = fig
            except ValueError:   # larger than the whole budget
                pass
        return fig

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._lru), "bytes": int(self._lru.currsize), "budget": self.budget,
                    "hits": self.hits, "misses": self.misses}

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()


def budget_from_env() -> int:
    """TIL_FIGURE_CACHE_MB (default 96) in bytes; 0 disables figure caching."""
    raw = os.environ.get("TIL_FIGURE_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_BUDGET_MB
    except ValueError:
        mb = DEFAULT_BUDGET_MB
    return max(0, int(mb * 2**20))


FIGURES = FigureCache(budget_from_env())
