"""Bilingual polish: one catalogue per language, complete, used consistently by every page.

Static checks: every catalogue key has a non-empty zh and en; English strings contain no CJK;
Chinese strings are not untranslated English; every literal key the code looks up exists.
Rendered checks (AppTest): every page in both languages renders without MissingString, and no
label, heading, text or figure title shows the other language's text.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import i18n
from tests.apptest import open_page
from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
# Text that is Chinese on purpose even in English mode (language switch, sample input sentences).
ALLOW_CJK_IN_EN = ("语言 / Language", "中文", "我 现在 爱 你", "我现在爱你")
# Catalogue values where zh == en is right (names, symbols, formulas, bilingual labels).
EN_WORD = re.compile(r"\b[a-z]{3,}\b")


def _allowed_cjk() -> tuple[str, ...]:
    """The explicit list plus the Chinese words of the toy translation task (sample inputs)."""
    from model.data import ZH_WORDS

    return tuple(sorted({*ALLOW_CJK_IN_EN, *ZH_WORDS}, key=len, reverse=True))


def _strip_allowed(text: str) -> str:
    for ok in _allowed_cjk():
        text = text.replace(ok, "")
    return text


# ---------------------------------------------------------------------------------------------
# the catalogue

@pytest.mark.parametrize("path", sorted((ROOT / "i18n").glob("*.yaml")), ids=lambda p: p.name)
def test_catalogue_file_parses(path: Path) -> None:
    """A broken file would take every page down: name it (a classic: `{en: Ready?}` in a flow mapping)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        pytest.fail(f"i18n/{path.name}: {e}")
    assert isinstance(data, dict), f"i18n/{path.name} must be a mapping of keys"


def test_every_key_has_both_languages() -> None:
    """Exactly {zh, en} per key: an unquoted `en: a, b` in a flow mapping silently cuts the text at the comma."""
    bad = [k for k, v in i18n.catalog().items()
           if not isinstance(v, dict) or set(v) != {"zh", "en"} or any(not isinstance(v.get(lang), str) or not v[lang].strip()
                                             for lang in i18n.LANGS)]
    assert bad == []


def test_english_has_no_chinese() -> None:
    bad = {k: v["en"] for k, v in i18n.catalog().items() if CJK.search(_strip_allowed(v["en"]))}
    # a code sample may show a lesson's bilingual YAML on purpose
    bad.pop("lessons.howto_yaml", None)
    assert bad == {}


def test_chinese_is_translated() -> None:
    """A zh string with no Chinese at all and several English words is an untranslated copy."""
    bad = {k: v["zh"] for k, v in i18n.catalog().items()
           if not CJK.search(v["zh"]) and len(EN_WORD.findall(v["zh"])) >= 2}
    assert bad == {}


def test_every_page_has_a_title_in_both_languages() -> None:
    for p in PAGES:
        entry = i18n.catalog()[f"common.page_{p.id}"]
        assert entry["zh"] != entry["en"] or not EN_WORD.search(entry["en"]), p.id


# ---------------------------------------------------------------------------------------------
# keys used in the code

def _prefix_of_helper(fn: ast.FunctionDef | ast.Lambda) -> str | None:
    """'ns.' when fn is `def t(key, **fmt): return shell.t("ns." + key, ...)` (or f"ns.{key}", or a lambda)."""
    if isinstance(fn, ast.Lambda):
        call = fn.body
    elif len(fn.body) != 1 or not isinstance(fn.body[0], ast.Return):
        return None
    else:
        call = fn.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "t"
            and call.args):
        return None
    arg = call.args[0]
    if isinstance(arg, ast.BinOp) and isinstance(arg.left, ast.Constant) and isinstance(arg.left.value, str):
        return arg.left.value
    if isinstance(arg, ast.JoinedStr) and len(arg.values) == 2 and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value)
    return None


def used_keys(path: Path) -> set[str]:
    """Literal keys looked up in a source file, fully qualified."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    helpers = {fn.name: p for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef)
               and (p := _prefix_of_helper(fn)) is not None}
    for node in ast.walk(tree):  # T = lambda key, **kw: shell.t(f"ns.{key}", **kw)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and (p := _prefix_of_helper(node.value)) is not None:
            helpers[node.targets[0].id] = p
    keys: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            continue
        literal = node.args[0].value
        func = node.func
        if isinstance(func, ast.Name) and func.id in helpers:
            keys.add(helpers[func.id] + literal)
        elif isinstance(func, ast.Attribute) and func.attr == "t" and isinstance(func.value, ast.Name) \
                and func.value.id in ("shell", "i18n"):
            keys.add(literal if "." in literal else f"common.{literal}")
    return keys


SOURCES = sorted([*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_used_keys_exist(path: Path) -> None:
    catalog = i18n.catalog()
    missing = sorted(k for k in used_keys(path) if k not in catalog)
    assert missing == [], f"{path.name} uses keys missing from i18n/*.yaml: {missing}"


def test_key_scanner_sees_helpers() -> None:
    keys = used_keys(ROOT / "pages" / "home.py")
    assert "home.due_now" in keys and "common.page_home" not in keys
    lam = ast.parse('T_ = lambda key, **kw: shell.t(f"residuals.{key}", **kw)\nT_("intro")')
    assert _prefix_of_helper(lam.body[0].value) == "residuals."
    keys = used_keys(ROOT / "pages" / "lessons.py")
    assert {"lessons.counter", "common.bad_param", "common.page_lessons"} <= keys


# ---------------------------------------------------------------------------------------------
# rendered pages

def _walk(node):
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)
    else:
        yield node


def rendered_texts(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) for every label, heading, text body, help and figure title on screen."""
    out: list[tuple[str, str]] = []
    for el in _walk(at._tree):
        proto = getattr(el, "proto", None)
        kind = getattr(el, "type", type(el).__name__)
        if proto is None or kind in ("code", "json", "dataframe", "arrow_data_frame", "text_area", "text_input"):
            continue
        for field in ("label", "body", "help", "placeholder"):
            value = getattr(proto, field, None)
            if isinstance(value, str) and value:
                out.append((f"{kind}.{field}", value))
        if kind == "plotly_chart":
            spec = json.loads(proto.spec) if getattr(proto, "spec", "") else {}
            layout = spec.get("layout", {})
            title = layout.get("title", {})
            out.append(("figure.title", title.get("text", "") if isinstance(title, dict) else str(title)))
            for axis, value in layout.items():
                if axis.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
                    t = value.get("title", {})
                    out.append((f"figure.{axis}", t.get("text", "") if isinstance(t, dict) else str(t)))
    return [(k, v) for k, v in out if v]


def _other_language_values(lang: str) -> set[str]:
    other = "en" if lang == "zh" else "zh"
    return {v[other] for v in i18n.catalog().values() if v[other] != v[lang] and len(v[other]) > 1}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page_id", [p.id for p in PAGES])
def test_page_speaks_one_language(page_id: str, lang: str) -> None:
    at = open_page(page_id, lang, timeout=90, check_exceptions=False)
    assert not at.exception, [e.value for e in at.exception]   # a MissingString shows up here
    texts = rendered_texts(at)
    assert i18n.t(f"common.page_{page_id}", lang) in [v for k, v in texts if k.startswith("title")]
    foreign = _other_language_values(lang)
    wrong = [(k, v) for k, v in texts if v in foreign]
    assert wrong == [], f"{page_id} [{lang}] shows the other language's strings: {wrong}"
    if lang == "en":
        chinese = [(k, v[:80]) for k, v in texts if CJK.search(_strip_allowed(v))]
        assert chinese == [], f"{page_id} [en] shows Chinese text: {chinese}"


def test_every_store_fault_kind_is_told_in_both_languages() -> None:
    """Each kind a store error can carry has the page's wording, for a file and for a server."""
    from study import pg_store

    server_kinds = {kind for kind, _ in pg_store._FAULTS.values()} | {pg_store._NO_FREE_CONNECTION[0]}
    for key in [f"flashcards.fault_{k}" for k in ("full", "readonly", "io", "busy")] + \
               [f"flashcards.fault_server_{k}" for k in sorted(server_kinds)]:
        zh, en = i18n.t(key, lang="zh"), i18n.t(key, lang="en")
        assert zh and en and zh != en, key
