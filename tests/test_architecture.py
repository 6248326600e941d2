"""The house rules of docs/ARCHITECTURE.md, checked on the source: layers import one way (down),
no Streamlit below ui/, no import cycles between our modules, no ImportError fallbacks around our
own modules. Every `import` counts, at module level or inside a function: a lazy import is still a
dependency."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "demos", "figures", "ui", "pages", "questions", "study", "lessons", "drills", "i18n",
            "bench")

# What each package may import of ours (besides itself). Anything not listed is upward or sideways.
ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "i18n": {"questions"},                      # the safe YAML loader
    "questions": set(),
    "lessons": {"questions"},
    "drills": {"model"},
    "study": {"questions", "drills", "model", "i18n"},  # i18n: the interview summary export
    "demos": {"model", "questions"},            # the LM's corpus is the bank's text
    "figures": {"demos", "model"},
    "ui": {"model", "demos", "figures", "questions", "study", "lessons", "drills", "i18n"},
    "pages": {"model", "demos", "figures", "ui", "questions", "study", "lessons", "drills", "i18n"},
    "bench": {"model", "demos", "figures", "ui", "questions", "study", "lessons", "drills", "i18n"},
}
NO_STREAMLIT = ("model", "demos", "figures", "questions", "study", "lessons", "drills", "i18n")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            out[_module_name(path)] = path
    return out


SOURCES = _sources()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every imported module name of ours (resolved to a known module where possible), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            if name.split(".")[0] not in PACKAGES and name.split(".")[0] not in ("streamlit", "app"):
                continue
            # the longest prefix that is one of our modules (`from ui import shell` -> ui.shell)
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in SOURCES or cand.split(".")[0] in ("streamlit", "app"):
                    found.append((cand, node.lineno))
                    break
    return found


def _graph() -> dict[str, set[str]]:
    return {mod: {m for m, _ in _imports(path) if m in SOURCES and m != mod} for mod, path in SOURCES.items()}


def test_layers_import_one_way() -> None:
    bad = []
    for mod, path in SOURCES.items():
        pkg = mod.split(".")[0]
        for imported, line in _imports(path):
            top = imported.split(".")[0]
            if top in ("streamlit",):
                continue
            if top == "app" or (top != pkg and top not in ALLOWED[pkg]):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {pkg} imports {imported}")
    assert not bad, "imports against the layers (docs/ARCHITECTURE.md):\n" + "\n".join(bad)


def test_no_streamlit_below_ui() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}" for mod, path in SOURCES.items() if mod.split(".")[0] in NO_STREAMLIT
           for imported, line in _imports(path) if imported.split(".")[0] == "streamlit"]
    assert not bad, "Streamlit imported below ui/: " + ", ".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_between_our_modules() -> None:
    graph = _graph()
    # a package's __init__ re-exporting its submodules is not a cycle with them
    for mod in graph:
        graph[mod] = {m for m in graph[mod] if not (m == mod.rsplit(".", 1)[0] and "." in mod)}
    cycles = _cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("pkg", PACKAGES)
def test_no_import_error_fallback_around_our_modules(pkg: str) -> None:
    bad = []
    for mod, path in SOURCES.items():
        if mod.split(".")[0] != pkg:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if not any("ImportError" in c or "ModuleNotFoundError" in c for c in catches):
                continue
            ours = [n for n in ast.walk(ast.Module(body=node.body, type_ignores=[]))
                    if isinstance(n, ast.Import | ast.ImportFrom)
                    and any((a.name if isinstance(n, ast.Import) else (n.module or "")).split(".")[0] in PACKAGES
                            for a in (n.names if isinstance(n, ast.Import) else [n]))]
            if ours:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "try/except ImportError around our own modules (integrate instead): " + ", ".join(bad)


# Pages stay thin (docs/ARCHITECTURE.md): no cached wrappers of their own (results go through
# ui.compute, figures through ui.plot) and no tensor/array work (torch, numpy belong in demos/).
PAGE_CACHE_NAMES = {"cache_data", "cache_resource", "cache", "experimental_memo", "experimental_singleton"}
PAGE_FORBIDDEN_IMPORTS = {"torch", "numpy"}


def _thick_page_lines(source: str) -> list[str]:
    """What makes a page thick: st.cache_* used (as a decorator or a call), functools caches, or
    torch / numpy imported. Each as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("st", "streamlit") and node.attr in PAGE_CACHE_NAMES:
                found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
            elif node.value.id == "functools" and node.attr in ("cache", "lru_cache"):
                found.append(f"{node.lineno}: functools.{node.attr}")
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in PAGE_FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top = node.module.split(".")[0]
            if top in PAGE_FORBIDDEN_IMPORTS:
                found.append(f"{node.lineno}: from {node.module} import …")
            elif top in ("streamlit", "functools"):
                found += [f"{node.lineno}: from {node.module} import {a.name}" for a in node.names
                          if a.name in PAGE_CACHE_NAMES | {"lru_cache"}]
    return found


def test_pages_define_no_caches_and_import_no_torch_or_numpy() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}" for mod, path in sorted(SOURCES.items()) if mod.split(".")[0] == "pages"
           for line in _thick_page_lines(path.read_text(encoding="utf-8"))]
    assert not bad, ("pages stay thin: computation in demos/, results through ui.compute, figures through "
                     "ui.plot (docs/ARCHITECTURE.md):\n" + "\n".join(bad))


def test_the_thin_page_check_finds_caches_and_array_imports() -> None:
    src = ("import numpy as np\nimport torch.nn as nn\nfrom numpy import arange\nimport functools\n"
           "import streamlit as st\nfrom streamlit import cache_data\n\n"
           "@st.cache_resource(show_spinner=False)\ndef f():\n    return 1\n\n"
           "g = st.cache_data(lambda: 2)\n\n@functools.lru_cache\ndef h():\n    return 3\n"
           "from ui import compute\nx = compute.call(f)\nst.session_state.cache = 1\n")
    found = sorted(_thick_page_lines(src), key=lambda s: int(s.split(":")[0]))
    assert found == ["1: import numpy", "2: import torch.nn", "3: from numpy import …",
                     "6: from streamlit import cache_data", "8: st.cache_resource", "12: st.cache_data",
                     "14: functools.lru_cache"]
