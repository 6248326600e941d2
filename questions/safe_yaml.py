"""The one YAML loader of the app: every YAML file it reads goes through here (no Streamlit).

Card files (questions/*.yaml), lessons, UI strings (i18n/*.yaml), the synonyms and a learner's
imported bank are plain data: lists, mappings and scalars. `yaml.safe_load` accepts more than that,
and some of it costs without bound: anchors and aliases (`&a` / `*a`, the "billion laughs" and its
quadratic variant expand a few hundred bytes into gigabytes once objects are built), merge keys
(`<<: *a`), deep nesting (600 `[` overflow the recursive composer), huge scalars and files.

This loader refuses all of that while *composing*, event by event, before any object is built:

* anchors, aliases, merge keys and explicit tags (`!!python/...`, `!!binary`, `!!set`...);
* more than `Limits.max_bytes` bytes (checked before parsing), nesting deeper than
  `max_depth`, more than `max_nodes` nodes, a scalar longer than `max_scalar` characters;
* non-scalar or duplicate mapping keys.

Events come from libyaml (`yaml.CParser`: no recursion, fast), nodes are built by PyYAML's
Python composer with the checks above, so every node keeps its line (`node_line`,
`locate_line`: the bank and the lessons report `file:line: reason`). Any refusal or syntax error
is one `YamlError` (a ValueError) whose `str()` is `file:line: reason`; nothing else escapes.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

MERGE_TAG = "tag:yaml.org,2002:merge"
_BREAK = re.compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")  # line breaks as YAML counts them


@dataclass(frozen=True)
class Limits:
    """Caps checked before objects are built. The defaults fit the app's own files with a wide
    margin (largest card file: ~100 KB, ~1,900 nodes, depth 5, longest scalar ~2,700 chars)."""

    max_bytes: int = 1_000_000
    max_depth: int = 16
    max_nodes: int = 25_000
    max_scalar: int = 20_000


DEFAULT = Limits()


class YamlError(ValueError):
    """A YAML file refused or unreadable: `file:line: reason` (line 0 when unknown)."""

    def __init__(self, reason: str, line: int = 0, file: str | None = None) -> None:
        self.reason = reason
        self.line = line
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.reason}" if self.file else (
            f"line {self.line}: {self.reason}" if self.line else self.reason)
        # one line: control characters and line breaks coming from the file are escaped
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)

    def at(self, file: str) -> YamlError:
        """The same error, naming `file`."""
        return YamlError(self.reason, self.line, file)


def _line(mark: Any) -> int:
    return mark.line + 1 if mark is not None else 0


def _check_event(event: Any, limits: Limits) -> None:
    """Refuse an alias, an anchor, an explicit tag or an over-long scalar."""
    if isinstance(event, AliasEvent):
        raise YamlError(f"aliases (*{event.anchor}) are not allowed", _line(event.start_mark))
    if isinstance(event, ScalarEvent | CollectionStartEvent):
        line = _line(event.start_mark)
        if event.anchor is not None:
            raise YamlError(f"anchors (&{event.anchor}) are not allowed", line)
        if event.tag is not None and not (isinstance(event, CollectionStartEvent) and event.implicit):
            raise YamlError(f"explicit tags ({event.tag.replace('tag:yaml.org,2002:', '!!')}) are not allowed",
                            line)
        if isinstance(event, ScalarEvent) and len(event.value) > limits.max_scalar:
            raise YamlError(f"a value of {len(event.value):,} characters (limit {limits.max_scalar:,})", line)


def _scan(text: str, limits: Limits) -> None:
    """Walk the event stream (libyaml, no objects built) and refuse what `_check_event` refuses,
    nesting deeper than `max_depth` and more than `max_nodes` nodes, before anything is composed."""
    parser = CParser(text)
    depth = nodes = 0
    try:
        while (event := parser.get_event()) is not None:
            _check_event(event, limits)
            if isinstance(event, ScalarEvent | CollectionStartEvent):
                nodes += 1
                if nodes > limits.max_nodes:
                    raise YamlError(f"too many values (more than {limits.max_nodes:,})", _line(event.start_mark))
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > limits.max_depth:
                    raise YamlError(f"nested deeper than {limits.max_depth} levels", _line(event.start_mark))
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


class _Loader(Composer, CParser, SafeConstructor, Resolver):
    """libyaml events; the Python composer with the checks (its methods come first in the MRO)."""

    def __init__(self, text: str, limits: Limits) -> None:
        CParser.__init__(self, text)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        Composer.__init__(self)
        self.limits = limits

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        _check_event(event, self.limits)  # again, as nodes are built (the scan already passed)
        return super().compose_node(parent, index)

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key, _value in node.value:
            if not isinstance(key, ScalarNode):
                raise YamlError("a mapping key must be a plain value", _line(key.start_mark))
            if key.tag == MERGE_TAG:
                raise YamlError("merge keys (<<) are not allowed", _line(key.start_mark))
            if key.value in seen:
                raise YamlError(f"duplicate key {key.value!r}", _line(key.start_mark))
            seen.add(key.value)
        return node


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise YamlError(f"file too large: {size:,} bytes (limit {limits.max_bytes:,})")


def compose(text: str | bytes, limits: Limits = DEFAULT) -> Node | None:
    """The node tree of one YAML document (None when empty), or YamlError. Bytes are UTF-8."""
    if isinstance(text, bytes):
        _check_size(len(text), limits)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise YamlError(f"cannot read file: not UTF-8 text (byte {e.start})") from None
    else:
        _check_size(len(text.encode("utf-8", "surrogatepass")), limits)
        text = text.removeprefix("\ufeff")
    try:
        loader = _Loader(text, limits)
    except (ValueError, yaml.YAMLError) as e:
        raise YamlError(f"cannot read: {e}") from None
    try:
        _scan(text, limits)
        return loader.get_single_node()
    except YamlError:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = " ".join(x for x in (e.context, e.problem) if x)
        # libyaml places an error at the end of the stream one line past a last line that has no
        # break ("{" -> line 2): never report a line the file does not have
        raise YamlError(f"YAML syntax error: {what}", min(_line(mark), len(_BREAK.split(text)))) from None
    except yaml.reader.ReaderError as e:
        line = len(_BREAK.split(text[:e.position])) if isinstance(e.position, int) else 0
        raise YamlError(f"unacceptable character #x{e.character:04x} (control characters are not allowed)",
                        line) from None
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # libyaml's other refusals
        raise YamlError(f"YAML error: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    finally:
        loader.dispose()


def construct(node: Node) -> Any:
    """Plain Python data (dict, list, str, int, float, bool, None, dates) of a composed node."""
    loader = SafeConstructor()
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        raise YamlError(f"YAML error: {e.problem}", _line(e.problem_mark)) from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. a date like 2024-02-30, a 5,000-digit int
        raise YamlError(f"bad value: {e}", node_line(node)) from None


def load(text: str | bytes, limits: Limits = DEFAULT) -> Any:
    """`yaml.safe_load` without its costs: plain data, or YamlError."""
    node = compose(text, limits)
    return None if node is None else construct(node)


def read(path: str | Path, limits: Limits = DEFAULT, name: str | None = None) -> bytes:
    """The bytes of a YAML file, size checked first; errors name the file (`name` or its name)."""
    p = Path(path)
    label = name or p.name
    try:
        size = p.stat().st_size
        if size > limits.max_bytes:
            raise YamlError(f"file too large: {size:,} bytes (limit {limits.max_bytes:,})", 0, label)
        with p.open("rb") as f:
            data = f.read(limits.max_bytes + 1)
    except OSError as e:
        raise YamlError(f"cannot read file: {e.strerror or e}", 0, label) from None
    return data


def files_key(directory: str | Path, paths: list[Path]) -> tuple:
    """(directory, ((name, mtime_ns, size), ...)): changes when any of the files changes, appears
    or goes; the cache key of what is loaded from a folder of YAML files (bank, rubrics, lessons)."""
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((p.name, st.st_mtime_ns, st.st_size))
    return (str(directory), tuple(out))


def compose_file(path: str | Path, limits: Limits = DEFAULT, name: str | None = None) -> Node | None:
    """`compose` of a file; errors are `name:line: reason` (default: the file's name)."""
    label = name or Path(path).name
    try:
        return compose(read(path, limits, label), limits)
    except YamlError as e:
        raise e.at(label) from None


def load_file(path: str | Path, limits: Limits = DEFAULT, name: str | None = None) -> Any:
    """`load` of a file; errors are `name:line: reason` (default: the file's name)."""
    label = name or Path(path).name
    node = compose_file(path, limits, label)
    try:
        return None if node is None else construct(node)
    except YamlError as e:
        raise e.at(label) from None


# ---------------------------------------------------------------------------------------------
# Lines of nodes (for file:line reports of schema errors)

def node_line(node: Node) -> int:
    return node.start_mark.line + 1


def locate_line(node: Node, loc: Iterable) -> int:
    """Line of the deepest node reachable along a pydantic error location."""
    line = node_line(node)
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == part:
                    node, line = v, node_line(k)
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node_line(node)
        else:
            return line
    return line


__all__ = ["DEFAULT", "Limits", "YamlError", "compose", "compose_file", "construct", "load", "load_file",
           "locate_line", "node_line", "read"]
