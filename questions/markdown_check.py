"""Judge Markdown written by someone else (imported cards) with a real CommonMark parser.

Cards are shown with `st.markdown`, so a card's text decides what every viewer's browser
renders. An image makes the browser fetch a URL chosen by the author (tracking, or a request
to an internal address); a link shows a clickable "Sign in again" inside the app's own box.
A regular expression cannot see reference-style images (`![x][r]` plus `[r]: URL`), shortcut
references (`![r]`) or nested brackets (`![a[b]c](URL)`); the parser resolves them as the
browser's renderer does.

`judge(text)` returns the problems found (empty list: fine). Refused:
- images of any kind;
- links, except in-app relative links (`/page`, `/page?x=1`, `#anchor`);
- autolinks (`<https://…>`, `<a@b.c>`) and bare URLs / e-mail addresses, which Streamlit's
  GitHub-flavoured renderer turns into links;
- link reference definitions (`[r]: URL`): they exist only to feed a reference elsewhere;
- raw HTML (blocks and inline tags; a lone attribute-less tag that is no HTML element, such as
  the tokens `</w>`, `<bos>`, `<s>` of NLP text, is text);
- KaTeX commands that carry a URL (`\\href`, `\\url`, `\\includegraphics`).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_SHOWN = 80  # characters of a URL quoted in a message
# Bounds that keep one call under ~0.1 s on hostile input (the pure-Python parser costs ~1 us per
# character of ordinary text, up to ~30 us on bracket or delimiter storms). The built-in bank's
# longest text is ~1,500 characters with at most a few dozen of each.
MAX_TEXT = 20_000
MAX_DEPTH = 40  # token nesting level (each list level counts 2)
MAX_COUNT = {"[": 300, "<": 300, "*": 1000, "_": 1000, "~": 1000}

# Bare URLs and addresses that GFM's autolink-literal extension turns into links.
_BARE_LINK = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.\-]{1,31}://|\bwww\.|\bmailto:|\bxmpp:)[^\s<>]*"
    r"|(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"  # lookbehind: linear on long words
)
_TEX_URL = re.compile(r"\\(?:href|url|includegraphics)\b")
# A scheme (`http:`, `javascript:`, `data:` …) or a protocol-relative `//host`.
_SCHEME = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|[\\/]{2})", re.IGNORECASE)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    # Past maxNesting the parser silently skips the rest of the text, which a browser's renderer
    # would still show: `judge` refuses any text that comes near the bound (MAX_DEPTH).
    md.options["maxNesting"] = MAX_DEPTH + 20
    # Judge every URL, including the ones markdown-it itself would refuse (javascript:, data:):
    # another renderer may not refuse them.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_MD = _parser()


def _short(url: str) -> str:
    url = " ".join(url.split())
    return url if len(url) <= MAX_SHOWN else url[: MAX_SHOWN - 1] + "…"


def is_app_link(href: str) -> bool:
    """An in-app relative link: `/page…` or `#anchor`, no scheme, no `//host`, no backslash."""
    href = href.strip()
    if not href or _SCHEME.match(href) or "\\" in href or "%5c" in href.lower():
        return False
    return href.startswith("/") or href.startswith("#")


# HTML element names (WHATWG, plus svg/math): a tag with one of these names is HTML even without
# attributes. `s` is left out on purpose: `<s>` / `</s>` is the sentence-boundary token of NLP
# text, and without attributes it can load nothing.
HTML_ELEMENTS = frozenset("""
a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite
code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure
footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link
main map mark menu meta meter nav noscript object ol optgroup option output p param picture pre progress
q rp rt ruby samp script search section select slot small source span strong style sub summary sup
table tbody td template textarea tfoot th thead time title tr track u ul var video wbr svg math image
frame frameset applet marquee font center
""".split())
_MARKER = re.compile(r"^\s*</?([A-Za-z][A-Za-z0-9_-]*)>\s*$")


def _token_marker(html: str) -> bool:
    """A lone attribute-less tag that is not an HTML element: the `</w>`, `<bos>`, `<s>` of NLP text."""
    m = _MARKER.match(html)
    return bool(m) and m.group(1).lower() not in HTML_ELEMENTS


def _walk(tokens: list[Token]) -> Iterator[Token]:
    for tok in tokens:
        yield tok
        if tok.children:
            yield from _walk(tok.children)


def judge(text: str) -> list[str]:
    """Problems in `text` as Markdown shown to other people (empty: fine)."""
    text = str(text)
    if len(text) > MAX_TEXT:
        return [f"text too long to check: {len(text):,} characters (limit {MAX_TEXT:,})"]
    storms = [f"{n:,} '{ch}' (limit {cap:,})" for ch, cap in MAX_COUNT.items()
              if (n := text.count(ch)) > cap]
    if storms:
        return [f"too much Markdown punctuation to check: {', '.join(storms)}"]
    problems: list[str] = []
    env: dict = {}
    tokens = _MD.parse(text, env)
    for ref in (env.get("references") or {}).values():
        problems.append(f"link reference definition not allowed: {_short(ref.get('href', ''))}")
    if max((tok.level for tok in _walk(tokens)), default=0) >= MAX_DEPTH:
        return [f"Markdown nested too deeply to check (limit {MAX_DEPTH} levels)"]
    in_link = 0
    for tok in _walk(tokens):
        if tok.type == "image":
            problems.append(f"image not allowed: {_short(str(tok.attrGet('src') or ''))}")
        elif tok.type == "link_open":
            href = str(tok.attrGet("href") or "")
            if tok.markup == "autolink" or tok.info == "auto":
                problems.append(f"autolink not allowed: {_short(href)}")
            elif not is_app_link(href):
                problems.append(f"link to an outside address not allowed: {_short(href)}")
            in_link += 1
        elif tok.type == "link_close":
            in_link = max(0, in_link - 1)
        elif tok.type in ("html_block", "html_inline") and not _token_marker(tok.content):
            problems.append(f"raw HTML not allowed: {_short(tok.content.strip())}")
        elif tok.type == "text" and not in_link:
            for m in _BARE_LINK.finditer(tok.content):
                problems.append(f"bare web or mail address not allowed: {_short(m.group(0))}")
            for m in _TEX_URL.finditer(tok.content):
                problems.append(f"LaTeX command with a URL not allowed: {m.group(0)}")
    return problems
