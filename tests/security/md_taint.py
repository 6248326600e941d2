"""A small taint scan: Streamlit calls that render Markdown given text from a user or a URL.

Sources (tainted values): `st.query_params` reads, text widgets (`st.text_input`, `st.text_area`,
`st.chat_input`, `state.text`, `state.text_area`), `st.session_state` reads, uploaded files
(`st.file_uploader`), a learner's name (`<x>.name` where x is a learner: `me`, `profile`, `p`,
`found`, `learner`...), and the function parameters listed in TAINTED_PARAMS. Taint follows
assignments (also tuple targets, for loops, comprehensions, with-as, walrus) within a function
or module body, until it stabilises; `shell.md_plain(...)` / `md_plain(...)` and numeric
conversions clean it.

Sinks: calls whose method renders Markdown (st.markdown, st.warning, st.toast, st.subheader,
widget labels...), on `st` or on any container (`col.markdown`, `box.caption`): any argument
except the keyword arguments in SAFE_KWARGS. A line may opt out with a `# md-safe: <reason>`
comment (the reason is required).

`scan_source(src)` returns (line, call, tainted names) for each finding.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable

SINKS = {
    "markdown", "caption", "write", "warning", "error", "info", "success", "toast", "title", "header",
    "subheader", "button", "page_link", "metric", "expander", "popover", "tabs", "radio", "selectbox",
    "multiselect", "checkbox", "toggle", "text_input", "text_area", "number_input", "slider", "select_slider",
    "segmented_control", "pills", "latex", "download_button", "link_button", "form_submit_button", "status",
    "dialog", "write_stream", "badge", "feedback", "date_input", "file_uploader", "color_picker", "chat_message",
}
# keyword arguments that are never rendered as Markdown
SAFE_KWARGS = {
    "key", "on_click", "on_change", "args", "kwargs", "value", "max_chars", "type", "width", "height",
    "use_container_width", "disabled", "icon", "index", "min_value", "max_value", "step", "data",
    "file_name", "mime", "placeholder", "label_visibility", "horizontal", "unsafe_allow_html", "query_params",
    "page", "default", "format", "border", "vertical_alignment", "gap", "selection_mode", "accept_multiple_files",
    "delta_color", "expanded", "state", "body_is_plain", "options", "shortcut",
}
PASS_THROUGH = {"str", "repr", "format", "join", "strip", "lstrip", "rstrip", "split", "rsplit", "replace", "lower",
                "upper", "title", "casefold", "removeprefix", "removesuffix", "get", "t", "T", "list", "tuple", "sorted",
                "reversed", "splitlines", "partition", "dict", "set", "fromkeys", "values", "items", "getattr"}
SANITIZERS = {"md_plain", "int", "float", "len", "round", "bool", "abs", "min", "max", "sum", "hash", "id"}
TEXT_WIDGETS = {"text_input", "text_area", "chat_input", "file_uploader", "text"}
LEARNER_NAMES = {"me", "profile", "found", "learner", "who", "prof", "user", "guest"}
# function parameters that carry outside text (function name -> parameter names)
TAINTED_PARAMS = {"_seed": {"raw"}, "bad_param": {"value", "raw"}, "warn_param": {"value", "raw"}}
OPT_OUT = re.compile(r"#\s*md-safe:\s*\S")


def _attr_chain(node: ast.AST) -> list[str]:
    out = []
    while isinstance(node, ast.Attribute):
        out.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        out.append(node.id)
    return out[::-1]


def _call_name(call: ast.Call) -> str:
    chain = _attr_chain(call.func)
    return chain[-1] if chain else ""


_TEXT_KEYS: set[str] = set()  # session keys of the text widgets of the source being scanned


def _key_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return "$" + node.id  # a constant's name (e.g. _NEW_KEY)
    return None


def _is_source(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript | ast.Attribute | ast.Call):
        chain = _attr_chain(node.func if isinstance(node, ast.Call) else node.value
                            if isinstance(node, ast.Subscript) else node)
        if "query_params" in chain:
            return True
        if "session_state" in chain:  # st.session_state[K] / .get(K) / .pop(K) of a text widget's key
            key = (node.slice if isinstance(node, ast.Subscript) else node.args[0]
                   if isinstance(node, ast.Call) and node.args else None)
            return key is not None and _key_of(key) in _TEXT_KEYS
    if isinstance(node, ast.Call) and _call_name(node) in TEXT_WIDGETS:
        chain = _attr_chain(node.func)
        return chain[:1] in (["st"], ["state"]) or len(chain) >= 2
    if isinstance(node, ast.Attribute) and node.attr == "name" and isinstance(node.value, ast.Name):
        return node.value.id in LEARNER_NAMES
    return False


def _tainted_names(expr: ast.AST, tainted: set[str], through_calls: bool = True) -> set[str]:
    """Tainted names or sources used in `expr` outside a sanitizer call. With `through_calls`
    False (an assignment), a call passes taint only when it keeps text (PASS_THROUGH, or a method
    of a tainted value): a computation on a tainted value (a parse, a lookup) is not text."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and _call_name(node) in SANITIZERS:
            return
        if (not through_calls and isinstance(node, ast.Call) and not _is_source(node)
                and _call_name(node) not in PASS_THROUGH):
            if isinstance(node.func, ast.Attribute):  # a method of a tainted value keeps it: raw.strip()
                visit(node.func.value)
            return
        if isinstance(node, ast.Lambda | ast.Compare):
            return  # a comparison is a bool, not text
        if isinstance(node, ast.IfExp):  # the test picks a value; it is not shown
            visit(node.body)
            visit(node.orelse)
            return
        if (isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Mod)
                and any(isinstance(o, ast.Constant) and type(o.value) in (int, float) for o in (node.left, node.right))):
            return  # arithmetic with a number: a number, not text
        if isinstance(node, ast.Subscript) and not _is_source(node):
            visit(node.value)  # table[tainted] is a lookup in our own table; its key is not shown
            return
        if _is_source(node):
            found.add(ast.unparse(node)[:60])
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in tainted:
            found.add(node.id)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(expr)
    return found


def _targets(node: ast.AST) -> Iterable[str]:
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            yield n.id


def _walk_scope(body: list[ast.stmt]) -> Iterable[ast.AST]:
    """The nodes of one scope: nested functions and classes are scopes of their own."""
    scope_break = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    stack: list[ast.AST] = [n for n in reversed(body) if not isinstance(n, scope_break)]
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, scope_break):
                stack.append(child)


def _propagate(body: list[ast.stmt], tainted: set[str]) -> None:
    for _ in range(6):  # until stable (loops assign after use)
        before = len(tainted) + len(_TEXT_KEYS)
        for node in _walk_scope(body):
            pairs: list[tuple[ast.AST, ast.AST]] = []
            if isinstance(node, ast.Assign):
                pairs = [(t, node.value) for t in node.targets]
                if (len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple)
                        and isinstance(node.value, ast.Tuple) and len(node.value.elts) == len(node.targets[0].elts)):
                    pairs = list(zip(node.targets[0].elts, node.value.elts, strict=True))  # a, b = x, y
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.NamedExpr):
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.For | ast.comprehension):
                pairs = [(node.target, node.iter)]
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                pairs = [(node.optional_vars, node.context_expr)]
            for target, value in pairs:
                if _tainted_names(value, tainted, through_calls=False):
                    tainted.update(_targets(target))
                    # st.session_state[K] = tainted: K's later reads are tainted too
                    if isinstance(target, ast.Subscript) and "session_state" in _attr_chain(target.value):
                        key = _key_of(target.slice)
                        if key:
                            _TEXT_KEYS.add(key)
        if len(tainted) + len(_TEXT_KEYS) == before:
            break


# positional arguments shown as plain text (select options): (method, index)
PLAIN_POSITIONAL = {("selectbox", 1), ("multiselect", 1), ("select_slider", 1)}


def _sink_args(call: ast.Call) -> Iterable[ast.AST]:
    name = _call_name(call)
    for i, arg in enumerate(call.args):
        if (name, i) not in PLAIN_POSITIONAL:
            yield arg
    for kw in call.keywords:
        if kw.arg not in SAFE_KWARGS:
            yield kw.value


def scan_source(src: str) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(src)
    _TEXT_KEYS.clear()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in TEXT_WIDGETS:
            for kw in node.keywords:
                if kw.arg == "key" and _key_of(kw.value):
                    _TEXT_KEYS.add(_key_of(kw.value))  # type: ignore[arg-type]
    lines = src.splitlines()
    findings: list[tuple[int, str, list[str]]] = []
    scopes: list[tuple[list[ast.stmt], set[str]]] = [(tree.body, set())]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = {a.arg for a in (*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs)}
            scopes.append((node.body, params & TAINTED_PARAMS.get(node.name, set())))
    module_tainted: set[str] = set()
    for body, tainted in scopes:  # first pass: session keys that receive outside text, anywhere
        _propagate(body, set(tainted))
    for body, tainted in scopes:
        tainted |= module_tainted
        _propagate(body, tainted)
        if body is tree.body:
            module_tainted = set(tainted)
        for node in _walk_scope(body):
            if True:
                if not (isinstance(node, ast.Call) and _call_name(node) in SINKS):
                    continue
                if node.func and isinstance(node.func, ast.Name):
                    continue  # a bare function call named like a sink (not a Streamlit method)
                bad = set()
                for arg in _sink_args(node):
                    bad |= _tainted_names(arg, tainted)
                if not bad:
                    continue
                line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
                end = lines[node.end_lineno - 1] if node.end_lineno and node.end_lineno <= len(lines) else ""
                if OPT_OUT.search(line) or OPT_OUT.search(end):
                    continue
                findings.append((node.lineno, ast.unparse(node.func), sorted(bad)))
    return sorted(set((ln, f, tuple(b)) for ln, f, b in findings))  # type: ignore[misc]
