"""UI strings in one place per language.

Every UI string lives in `i18n/<namespace>.yaml` as `key: {zh: …, en: …}` and is looked up as
`t("namespace.key", lang)`. Page authors own one namespace file each. Plain Python: no Streamlit.
"""
from __future__ import annotations

import functools
from pathlib import Path

from questions import safe_yaml

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
_DIR = Path(__file__).parent


class MissingString(KeyError):
    """A UI string key that no namespace file defines (or lacks a language)."""


@functools.cache
def namespace(ns: str) -> dict[str, dict[str, str]]:
    """The strings of `i18n/<ns>.yaml`: {"key": {"zh": ..., "en": ...}} ({} when there is no such
    file). Read once, when a string of it is first asked for (a page reads the few it uses, not
    all of them), with the app's one safe YAML loader: a broken or hostile file raises
    `safe_yaml.YamlError` as `i18n/<file>:line: reason`."""
    path = _DIR / f"{ns}.yaml"
    if not ns.isidentifier() or not path.is_file():
        return {}
    return safe_yaml.load_file(path, name=f"i18n/{path.name}") or {}


def catalog() -> dict[str, dict[str, str]]:
    """All strings: {"ns.key": {"zh": ..., "en": ...}} (every namespace file)."""
    return {f"{path.stem}.{key}": value
            for path in sorted(_DIR.glob("*.yaml")) for key, value in namespace(path.stem).items()}


def normalize_lang(lang: str | None) -> str:
    if not lang:
        return DEFAULT_LANG
    lang = str(lang).lower()
    if lang.startswith("zh"):
        return "zh"
    if lang.startswith("en"):
        return "en"
    return DEFAULT_LANG


def entry(key: str) -> dict[str, str] | None:
    """{"zh": ..., "en": ...} of "ns.key", or None when no namespace file defines it."""
    ns, _, name = key.partition(".")
    return namespace(ns).get(name)


def t(key: str, lang: str, **fmt: object) -> str:
    """The string `key` in `lang`, formatted with `fmt`. Raises MissingString when absent."""
    found = entry(key)
    if found is None or lang not in found or found[lang] is None:
        raise MissingString(f"{key} [{lang}]")
    text = str(found[lang])
    return text.format(**fmt) if fmt else text
