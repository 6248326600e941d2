"""The one way tests open the app under streamlit's AppTest: a page, its language, its URL."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str = "home", lang: str = "en", /, *, timeout: float = 60, check_exceptions: bool = True,
              **params: str) -> AppTest:
    """Run app.py with ?lang=<lang>&<params>, then switch to pages/<page>.py ("home" stays on app.py).

    With `check_exceptions` the page must show no exception (the message names the page and lists
    them); a test that looks at at.exception itself passes False. `page` and `lang` are positional
    only and the options have long names, so `params` may hold any URL name (flashcards reads `check`).
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page != "home":
        at.switch_page(f"pages/{page}.py")
        at.run()
    if check_exceptions:
        assert not at.exception, (page, [e.value for e in at.exception])
    return at
