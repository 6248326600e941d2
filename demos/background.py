"""Work a page starts once per process in a background thread (plain Python, no UI)."""
from __future__ import annotations

import threading
from collections.abc import Callable

_started: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def start_once(name: str, work: Callable[[], object]) -> threading.Thread | None:
    """Run `work` in a thread named `name` the first time `name` is asked for in this process.
    Returns that thread while it runs (a caller that needs its result joins it), None once done."""
    with _lock:
        job = _started.get(name)
        if job is None:
            # Not a daemon: torch work abandoned at interpreter exit aborts the process.
            job = _started[name] = threading.Thread(target=work, name=name, daemon=False)
            job.start()
        return job if job.is_alive() else None
