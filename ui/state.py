"""Widgets whose values live in the URL, so a link reproduces the exact state of a page.

Each bound widget has a URL parameter name (e.g. `d_model`); its session key is namespaced by
page (`positional_encoding:d_model`) so pages never collide. On a page's first run the value is
read from the URL (validated: a bad value falls back to the default with a visible notice), and
after every run the current value is written back to the URL.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui import shell


def _key(param: str) -> str:
    return f"{shell.current_page()}:{param}"


class Clamped(ValueError):
    """A URL value that was put into range: `value` is what the page uses instead."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


def warn_param(param: str, raw: object, used: object = None) -> None:
    """The one notice for a URL parameter that was refused or put into range (the value escaped
    and cut: it is the URL's text, shown inside Markdown)."""
    value = shell.md_plain(raw, limit=40)
    if used is None:
        st.toast(shell.t("params.bad", name=param, value=value), icon=":material/warning:")
    else:
        st.toast(shell.t("params.clamped", name=param, value=value, used=shell.md_plain(_text(used), limit=60)),
                 icon=":material/warning:")


def from_url(param: str, default: Any, parse: Callable[[str], Any]) -> Any:
    """The one path from a URL parameter to a value: `parse(raw)` returns the value, raises
    Clamped(value) for a value put into range (too big, too many items...), or ValueError /
    TypeError / OverflowError for a value it can't use (the default is used). Either is told by
    `warn_param`. No URL value reaches a widget unchecked."""
    raw = st.query_params.get(param)
    if raw is None:
        return default
    try:
        return parse(raw)
    except Clamped as c:
        warn_param(param, raw, c.value)
        return c.value
    except (TypeError, ValueError, OverflowError):
        warn_param(param, raw)
        return default


def _seed(param: str, default: Any, parse: Callable[[str], Any]) -> str:
    """Put the URL's (or the default) value into session state once; return the widget key."""
    key = _key(param)
    if key not in st.session_state:
        st.session_state[key] = from_url(param, default, parse)
    return key


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _publish(param: str, value: Any) -> None:
    text = _text(value)
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def _in_range(lo: float, hi: float, cast: Callable[[str], Any]) -> Callable[[str], Any]:
    """A number in [lo, hi]: out of range is clamped to the nearer end; NaN or not a number is refused."""
    def parse(raw: str) -> Any:
        if len(raw) > 64:
            raise ValueError(raw)
        number = float(raw)  # "1e3", " 5 ", "inf"; NaN fails the comparisons below
        if number != number:
            raise ValueError(raw)
        if number < lo:
            raise Clamped(lo)
        if number > hi:
            raise Clamped(hi)
        value = cast(raw) if cast is float else int(number) if number == int(number) else None
        if value is None:  # 2.5 for an integer widget
            raise Clamped(int(round(number)))
        return value

    return parse


def slider(param: str, label: str, lo: int | float, hi: int | float, default: int | float,
           step: int | float | None = None, **kw: Any) -> Any:
    cast = int if isinstance(default, int) and isinstance(lo, int) and not isinstance(step, float) else float
    key = _seed(param, default, _in_range(lo, hi, cast))
    value = st.slider(label, min_value=lo, max_value=hi, step=step, key=key, **kw)
    _publish(param, value)
    return value


def number(param: str, label: str, lo: int | float, hi: int | float, default: int | float,
           step: int | float | None = None, **kw: Any) -> Any:
    cast = int if isinstance(default, int) else float
    key = _seed(param, default, _in_range(lo, hi, cast))
    value = st.number_input(label, min_value=lo, max_value=hi, step=step, key=key, **kw)
    _publish(param, value)
    return value


def _choice(options: Sequence[Any]) -> Callable[[str], Any]:
    by_text = {str(o): o for o in options}

    def parse(raw: str) -> Any:
        if raw not in by_text:
            raise ValueError(raw)
        return by_text[raw]

    return parse


def select(param: str, label: str, options: Sequence[Any], default: Any, *, widget: str = "selectbox",
           **kw: Any) -> Any:
    """A choice bound to the URL: widget is 'selectbox', 'radio' or 'segmented'."""
    key = _seed(param, default, _choice(options))
    if widget == "radio":
        value = st.radio(label, options, key=key, **kw)
    elif widget == "segmented":
        value = st.segmented_control(label, options, key=key, **kw)
        if value is None:  # clicking the selected segment deselects it: keep a value
            value = default
    else:
        value = st.selectbox(label, options, key=key, **kw)
    _publish(param, value)
    return value


def section(options: Sequence[str], label: str, format_func: Callable[[str], str], default: str | None = None) -> str:
    """The demo page's section picker (URL `section`), shown as a segmented control."""
    return select("section", label, options, default or options[0], widget="segmented",
                  format_func=format_func, label_visibility="collapsed")


def toggle(param: str, label: str, default: bool, **kw: Any) -> bool:
    def parse(raw: str) -> bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)

    key = _seed(param, default, parse)
    value = st.toggle(label, key=key, **kw)
    _publish(param, int(value))
    return value


def _cut(max_chars: int) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > max_chars:
            raise Clamped(raw[:max_chars])
        return raw

    return parse


def text(param: str, label: str, default: str, max_chars: int = 200, **kw: Any) -> str:
    parse = _cut(max_chars)

    key = _seed(param, default, parse)
    value = st.text_input(label, key=key, max_chars=max_chars, **kw)
    _publish(param, value)
    return value


def multiselect(param: str, label: str, options: Sequence[Any], default: Sequence[Any], **kw: Any) -> list:
    """Several choices bound to the URL as a comma-separated list (unknown items and repeats
    dropped, at most `max_selections`, with a notice)."""
    by_text = {str(o): o for o in options}
    cap = kw.get("max_selections") or len(by_text)

    def parse(raw: str) -> list:
        items = [p for p in raw.split(",") if p != ""]
        picked = list(dict.fromkeys(p for p in items if p in by_text))
        if items and not picked:
            raise ValueError(raw)
        if len(picked) > cap or len(picked) != len(items):
            raise Clamped([by_text[p] for p in picked[:cap]])
        return [by_text[p] for p in picked]

    key = _seed(param, list(default), parse)
    value = st.multiselect(label, options, key=key, **kw)
    _publish(param, value)
    return value


def text_area(param: str, label: str, default: str, max_chars: int = 2000, **kw: Any) -> str:
    """Multi-line text bound to the URL (cut to max_chars; st.text_area enforces it while typing)."""
    parse = _cut(max_chars)

    key = _seed(param, default, parse)
    value = st.text_area(label, key=key, max_chars=max_chars, **kw)
    _publish(param, value)
    return value
