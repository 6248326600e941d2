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


def _seed(param: str, default: Any, parse: Callable[[str], Any]) -> str:
    """Put the URL's (or the default) value into session state once; return the widget key."""
    key = _key(param)
    if key not in st.session_state:
        raw = st.query_params.get(param)
        value = default
        if raw is not None:
            try:
                value = parse(raw)
            except (TypeError, ValueError):
                st.toast(shell.t("bad_param", name=param, value=str(raw)[:40]), icon=":material/warning:")
        st.session_state[key] = value
    return key


def _publish(param: str, value: Any) -> None:
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def _in_range(lo: float, hi: float, cast: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        value = cast(raw)
        if not lo <= value <= hi:
            raise ValueError(raw)
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


def text(param: str, label: str, default: str, max_chars: int = 200, **kw: Any) -> str:
    def parse(raw: str) -> str:
        return raw[:max_chars]

    key = _seed(param, default, parse)
    value = st.text_input(label, key=key, max_chars=max_chars, **kw)
    _publish(param, value)
    return value


def multiselect(param: str, label: str, options: Sequence[Any], default: Sequence[Any], **kw: Any) -> list:
    """Several choices bound to the URL as a comma-separated list."""
    by_text = {str(o): o for o in options}

    def parse(raw: str) -> list:
        picked = [p for p in raw.split(",") if p != ""]
        if any(p not in by_text for p in picked):
            raise ValueError(raw)
        return [by_text[p] for p in picked]

    key = _seed(param, list(default), parse)
    value = st.multiselect(label, options, key=key, **kw)
    _publish(param, value)
    return value


def text_area(param: str, label: str, default: str, max_chars: int = 2000, **kw: Any) -> str:
    """Multi-line text bound to the URL (cut to max_chars; st.text_area enforces it while typing)."""
    def parse(raw: str) -> str:
        return raw[:max_chars]

    key = _seed(param, default, parse)
    value = st.text_area(label, key=key, max_chars=max_chars, **kw)
    _publish(param, value)
    return value
