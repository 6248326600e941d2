"""questions.markdown_check.judge: imported Markdown judged by a CommonMark parser."""
from __future__ import annotations

import glob
import time

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from questions.markdown_check import MAX_DEPTH, MAX_TEXT, is_app_link, judge

URL = "http://127.0.0.1:9/p.png"

# Each vector must be refused; the comment says what the browser would do with it.
REFUSED = {
    "inline image": f"![x]({URL})",
    "image with title": f'![x]({URL} "t")',
    "image, angle-bracket destination": f"![x](<{URL}>)",
    "image, spaces around the destination": f"![x](   {URL}   )",
    "reference image": f"![x][r]\n\n[r]: {URL}",
    "reference image, definition first": f"[r]: {URL}\n\n![x][r]",
    "collapsed reference image": f"![r][]\n\n[r]: {URL}",
    "shortcut reference image": f"![r]\n\n[r]: {URL}",
    "case-folded reference label": f"![x][R]\n\n[r]: {URL}",
    "definition alone (to pair with a reference elsewhere)": f"[r]: {URL}",
    "definition with title": f'[r]: {URL} "title"',
    "nested brackets in alt text": f"![a[b]c]({URL})",
    "deeply nested brackets in alt text": f"![a[b[c[d]]]e]({URL})",
    "image inside a link": f"[![x]({URL})](/ok)",
    "image inside image alt": f"![![x](a)]({URL})",
    "image inside emphasis": f"**_![x]({URL})_**",
    "image in a list": f"- a\n  - ![x]({URL})",
    "image in a blockquote": f"> > ![x]({URL})",
    "image in a table cell": f"|a|b|\n|-|-|\n|![x]({URL})|c|",
    "image in a heading": f"# ![x]({URL})",
    "image after an escaped bang": f"\\!![x]({URL})",
    "data: image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "relative image (fetches from the app host)": "![x](/static/p.png)",
    "image with entity-encoded URL": "![x](http&#58;//127.0.0.1:9/p.png)",
    "inline link": "[Session expired: sign in again](http://evil.example/login)",
    "https link": "[x](https://evil.example)",
    "protocol-relative link": "[x](//evil.example/a)",
    "backslash protocol-relative link": "[x](\\\\evil.example/a)",
    "slash-backslash link": "[x](/\\evil.example)",
    "javascript: link": "[x](javascript:alert(1))",
    "JavaScript: mixed case": "[x](JaVaScRiPt:alert(1))",
    "data: link": "[x](data:text/html,<script>alert(1)</script>)",
    "mailto link": "[x](mailto:a@b.example)",
    "reference link": "[x][r]\n\n[r]: https://evil.example",
    "autolink": "<https://evil.example>",
    "email autolink": "<someone@evil.example>",
    "bare https URL (GFM autolink literal)": "see https://evil.example/login now",
    "bare www host": "go to www.evil.example",
    "bare email address": "write to someone@evil.example",
    "raw HTML img": f'<img src="{URL}">',
    "raw HTML inline": f'a <img src="{URL}"> b',
    "raw HTML block": "<div>\nhello\n</div>",
    "raw HTML comment": "<!-- x -->",
    "raw HTML script": "<script>alert(1)</script>",
    "raw HTML iframe": f'<iframe src="{URL}"></iframe>',
    "attribute-less element tag": "<script>alert(1)</script>",
    "attribute-less div": "a <div> b",
    "unknown tag with an attribute": f'<w src="{URL}">',
    "processing instruction": "<?php x ?>",
    "declaration": "<!DOCTYPE html>",
    "CDATA": "<![CDATA[ x ]]>",
    "svg": f'<svg><image href="{URL}"/></svg>',
    "KaTeX href": "$\\href{https://evil.example}{x}$",
    "KaTeX includegraphics": "$\\includegraphics{p.png}$",
    "deep blockquote (past the parser's nesting bound)": "> " * 60 + f"![x]({URL})",
    "deep list": "- " * 60 + f"![x]({URL})",
    "too long": "a" * (MAX_TEXT + 1),
    "bracket storm": "[" * 1000 + f"![x]({URL})",
}

ALLOWED = [
    "",
    "plain text",
    "**bold**, _em_, ~~strike~~, `code`",
    "$p(y_t\\mid y_{<t},x)=\\mathrm{softmax}(h_tW_E^\\top)$",
    "`![x](http://h)` in code",
    "```\n![x](http://h)\n<img src=x>\n```",
    "    ![x](http://h)  (indented code)",
    "escaped brackets \\[x\\](y) stay text",
    "[in-app](/flashcards?cards=a)",
    "[anchor](#section)",
    "- a\n- b\n\n1. c",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "a < b and c > d",
    "`<bos>` token",
    "</w>",
    "BPE marks word ends with </w>; sequences are <bos> x y <eos>, sentences <s> ... </s>, <pad> <unk> <mask>",
    "<bos>\n\n</w>",
    "[not a link] and ![not an image] without definitions",
    "中文：注意力 $QK^\\top/\\sqrt{d_k}$",
]


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_refused(text):
    assert judge(text), text


def test_escaped_bang_still_finds_the_image():
    # `\![x](url)` escapes only the bang: the brackets still form a link to url.
    assert judge("\\![x](http://evil.example)")


@pytest.mark.parametrize("text", ALLOWED)
def test_allowed(text):
    assert judge(text) == []


def test_message_names_the_url():
    (msg,) = judge(f"![x]({URL})")
    assert "image" in msg and URL in msg
    assert any("link reference definition" in m for m in judge(f"[r]: {URL}"))


@pytest.mark.parametrize("href,ok", [
    ("/flashcards", True), ("/x?a=1#b", True), ("#s", True), ("", False), ("//h", False),
    ("/\\h", False), ("/%5Ch", False), ("http://h", False), (" javascript:x", False), ("x", False),
])
def test_is_app_link(href, ok):
    assert is_app_link(href) is ok


CONSTRUCTS = {
    "blockquote": lambda n, s: "> " * n + s,
    "list": lambda n, s: "- " * n + s,
    "ordered": lambda n, s: "1. " * n + s,
    "emphasis": lambda n, s: "*" * n + s + "*" * n,
    "strong": lambda n, s: "**" * n + s + "**" * n,
    "brackets": lambda n, s: "[" * n + s + "]" * n,
    "links": lambda n, s: "[a" * n + s + "](/x)" * n,
    "strike": lambda n, s: "a " + "~~" * n + s + "~~" * n,
    "indented list": lambda n, s: "".join(" " * (2 * i) + "- a\n" for i in range(n)) + " " * (2 * n) + "- " + s,
    "lazy blockquotes": lambda n, s: "".join(">" * i + " a\n" for i in range(n)) + ">" * n + " " + s,
    "quote+list": lambda n, s: "> - " * n + s,
}


@pytest.mark.parametrize("name", CONSTRUCTS)
def test_no_depth_hides_an_image(name):
    """Past maxNesting markdown-it skips the rest; judge must refuse rather than pass it."""
    build = CONSTRUCTS[name]
    missed = [n for n in range(0, 3 * MAX_DEPTH) if not judge(build(n, f"![x]({URL})"))]
    assert missed == []


@pytest.mark.parametrize("text", [
    "[" * 300 + "a" * 19000, "![x](" * 299, "*a" * 999 + "b" * 18000, "[a](" * 299 + "_a" * 999,
    "a" * 19999, "a@" * 9999, "@a" * 9999, "<" * 300 + "a" * 19000, "> " * 9999, "- [" * 299,
])
def test_hostile_input_is_fast(text):
    t0 = time.perf_counter()
    judge(text)
    assert time.perf_counter() - t0 < 1.0


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def test_builtin_bank_passes(root):
    """The judge does not refuse what our own cards and lessons use (math, code, tables)."""
    texts = []
    for path in glob.glob(str(root / "questions" / "*.yaml")) + glob.glob(str(root / "lessons" / "**" / "*.yaml"),
                                                                           recursive=True):
        with open(path, encoding="utf-8") as fh:
            texts.extend(_strings(yaml.safe_load(fh)))
    assert len(texts) > 1000
    assert [(t[:60], judge(t)) for t in texts if judge(t)] == []


@given(st.text(alphabet="![]()<>:/\\h *_#-\n>.@w", max_size=80))
def test_image_of_any_prefix_is_seen(prefix):
    """Whatever comes before, an image at the start of a new paragraph is refused."""
    assert judge(prefix + f"\n\n![x]({URL})")
