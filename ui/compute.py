"""Demo results kept per process: the computation counterpart of ui.plot.cached.

A page never defines its own st.cache_* wrapper; it asks for a result by a name and a key of
everything the result depends on, and gives the computation (a call into demos/) to run on a miss:

    run = compute.cached("forward", (name, d_k, src, tgt), lambda: A.run(model, src, tgt), keep=24)
    counts = compute.call(D.model_params, d, d_ff, 1, h, keep=128)

Results are shared by every session (like st.cache_resource): callers must not mutate them. The
store itself lives in st.cache_resource, so Streamlit's "Clear cache" and
st.cache_resource.clear() empty it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import streamlit as st
from cachetools import LRUCache

from ui import shell

R = TypeVar("R")


class Slot:
    """The results of one (page, name): an LRU of `keep` keys (None: all), built once per key
    even when sessions ask at the same time; an exception is raised, not kept."""

    def __init__(self, keep: int | None):
        self.results: dict | LRUCache = {} if keep is None else LRUCache(maxsize=keep)
        self.lock = threading.Lock()
        self.building: dict[Hashable, threading.Lock] = {}

    def get_or_build(self, key: Hashable, build: Callable[[], R]) -> R:
        with self.lock:
            if key in self.results:
                return self.results[key]
            pending = self.building.setdefault(key, threading.Lock())
        with pending:
            with self.lock:
                if key in self.results:       # built by another session while this one waited
                    return self.results[key]
            try:
                value = build()
                with self.lock:
                    self.results[key] = value
            finally:
                with self.lock:
                    self.building.pop(key, None)
        return value


@st.cache_resource(show_spinner=False)
def _slots() -> tuple[dict[tuple[str, str], Slot], threading.Lock]:
    return {}, threading.Lock()


def cached(name: str, key: Hashable, build: Callable[[], R], *, keep: int | None = None) -> R:
    """`build()`, kept per process by (page, `name`, `key`); `keep` bounds how many keys of this
    name are kept (least recently used out first). `key` must hold every value the result
    depends on."""
    slots, lock = _slots()
    where = (shell.current_page() or "", name)
    with lock:
        slot = slots.get(where)
        if slot is None:
            slot = slots[where] = Slot(keep)
    return slot.get_or_build(key, build)


def call(fn: Callable[..., R], *args: Any, keep: int | None = None, **kwargs: Any) -> R:
    """`fn(*args, **kwargs)` through `cached`, keyed by the function and its (hashable) arguments."""
    return cached(f"{fn.__module__}.{fn.__qualname__}", (args, tuple(sorted(kwargs.items()))),
                  lambda: fn(*args, **kwargs), keep=keep)
