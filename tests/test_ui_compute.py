"""ui.compute: demo results kept per process (the pages' replacement for st.cache_* wrappers)."""
import threading
import time

import pytest
import streamlit as st

from ui import compute


def test_slot_keeps_the_last_keys_and_builds_each_once():
    slot = compute.Slot(keep=2)
    built = []

    def build(k):
        built.append(k)
        return k * 10

    assert [slot.get_or_build(k, lambda k=k: build(k)) for k in (1, 2, 1, 3, 1, 2)] == [10, 20, 10, 30, 10, 20]
    assert built == [1, 2, 3, 2]          # 2 was the least recently used when 3 came in
    unbounded = compute.Slot(keep=None)
    for k in range(100):
        unbounded.get_or_build(k, lambda k=k: k)
    assert len(unbounded.results) == 100


def test_slot_builds_once_for_concurrent_sessions_and_does_not_keep_errors():
    slot = compute.Slot(keep=None)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)
        return object()

    out = []
    threads = [threading.Thread(target=lambda: out.append(slot.get_or_build("k", slow))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 6 and all(o is out[0] for o in out)
    with pytest.raises(ZeroDivisionError):
        slot.get_or_build("bad", lambda: 1 / 0)
    assert slot.get_or_build("bad", lambda: 7) == 7 and not slot.building


def test_call_keys_by_function_and_arguments_and_clears_with_cache_resource():
    st.cache_resource.clear()
    calls = []

    def add(a, b=0):
        calls.append((a, b))
        return a + b

    assert compute.call(add, 1, b=2) == 3 and compute.call(add, 1, b=2) == 3 and calls == [(1, 2)]
    assert compute.call(add, 2) == 2 and calls == [(1, 2), (2, 0)]
    assert compute.cached("x", (1,), lambda: "a") == "a" and compute.cached("x", (1,), lambda: "b") == "a"
    st.cache_resource.clear()
    assert compute.cached("x", (1,), lambda: "b") == "b"
    compute.call(add, 1, b=2)
    assert calls[-1] == (1, 2) and len(calls) == 3
