"""Text from users or URLs never reaches Markdown unescaped.

- `ui.shell.md_plain` (the one helper): whatever goes in, a CommonMark parser finds no image,
  link, autolink, HTML or emphasis in the result, and the visible text is the input.
- A taint scan (tests/security/md_taint.py) of every page and ui module finds no Streamlit
  Markdown call given a URL parameter, typed text or a learner name outside md_plain; it is
  checked to catch the known vectors, so a regression fails here.
- AppTest per vector: the app's own messages that echo URL values show them escaped.
"""
from __future__ import annotations

import functools
import glob
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page
from tests.security.md_taint import scan_source
from ui.shell import md_plain

ROOT = Path(__file__).resolve().parents[2]
HOST = "http://127.0.0.1:9"

VECTORS = [
    f"![x]({HOST}/p.png)",
    f"![x][r]\n\n[r]: {HOST}/p.png",
    f"![a[b]c]({HOST}/p.png)",
    f"[Session expired: sign in again]({HOST}/login)",
    f"<{HOST}/auto>",
    f"{HOST}/bare www.evil.example someone@evil.example",
    f'<img src="{HOST}/p.png">',
    "**bold** _em_ `code` ~~s~~ $x^2$ :red[red] :material/home: :smile:",
    "# heading\n- item\n> quote\n\n    code\n| a | b |\n|---|---|",
    "&#33;[x](y) &lt;img&gt;",
    "\u202eecila \u200bzero\u200dwidth \x00nul",
    "line\r\nbreak\u2028sep\u2029para\x0bvt\x0cff\x85nel",
    "\\![x](y) \\\\![x](y)",
]


def _parse(text: str):
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True
    return md.parse(text)


def _walk(tokens):
    for t in tokens:
        yield t
        yield from _walk(t.children or [])


def _visible(text: str) -> str:
    return "".join(t.content for t in _walk(_parse(text)) if t.type in ("text", "softbreak"))


def _expected(raw: str) -> str:
    import re

    from ui.shell import _MD_BREAKS, _MD_HIDDEN, _MD_SPACES
    return re.sub(r"\s+$", "", _MD_HIDDEN.sub("\ufffd", _MD_SPACES.sub(" ", _MD_BREAKS.sub(" ", raw)))).lstrip()


@pytest.mark.parametrize("raw", VECTORS)
def test_md_plain_leaves_no_markdown(raw: str) -> None:
    out = md_plain(raw)
    kinds = {t.type for t in _walk(_parse(out))}
    assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text"}, (out, kinds)
    assert _visible(out).replace("\u2060", "") == _expected(raw)
    for word in ("http://", "www.", "someone@"):  # nothing for GFM's autolink-literal to match
        assert word not in out


@given(st.text(max_size=60))
def test_md_plain_any_text(raw: str) -> None:
    out = md_plain(raw)
    kinds = {t.type for t in _walk(_parse(out))}
    assert kinds <= {"paragraph_open", "paragraph_close", "inline", "text"}, (out, kinds)


def test_md_plain_limit() -> None:
    assert md_plain("a" * 50, limit=40) == "a" * 40 + "…"
    assert md_plain("[x](y)", limit=3) == "\\[x\\]…"


# ---------------------------------------------------------------------------------------------
# the scan

SOURCES = sorted(glob.glob(str(ROOT / "pages" / "*.py")) + glob.glob(str(ROOT / "ui" / "*.py"))
                 + [str(ROOT / "app.py")])


def test_scan_covers_every_page() -> None:
    names = {Path(p).name for p in SOURCES}
    for page in ("home.py", "flashcards.py", "lessons.py", "drills.py", "kv_cache.py", "rope.py", "gqa.py",
                 "sampling.py", "bug_hunt.py", "attention.py"):
        assert page in names
    assert {"state.py", "profile.py", "shell.py", "cards.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=[Path(p).name for p in SOURCES])
def test_no_unescaped_outside_text_reaches_markdown(path: str) -> None:
    findings = scan_source(Path(path).read_text(encoding="utf-8"))
    assert findings == [], f"{path}: wrap these in shell.md_plain(): {findings}"


# The scan must catch the bugs it exists for (the vectors, before their fixes).
CAUGHT = {
    "name in a subheader": "me = profile.learner()\nst.subheader(t('progress', name=me.name))",
    "URL value in a toast": "raw = st.query_params.get(p)\nst.toast(shell.t('bad_param', value=str(raw)[:40]))",
    "URL ids in a warning": ("raw_cards = st.query_params.get('cards')\n"
                             "wanted = [x.strip() for x in raw_cards.split(',')]\n"
                             "unknown = [x for x in wanted if x not in deck]\n"
                             "st.warning(t('unknown_cards', ids=', '.join(unknown[:5])[:200]))"),
    "URL value through session state": ("st.session_state[_L] = st.query_params.get('lesson')\n"
                                        "lesson_id = st.session_state.get(_L)\n"
                                        "st.warning(shell.t('not_found', id=str(lesson_id)[:60]))"),
    "typed text in a column's markdown": "typed = st.text_area('a', key='k')\ncol.markdown(f'**{typed}**')",
    "typed text via its session key": "st.text_input('n', key=_NEW)\nst.error(st.session_state[_NEW])",
    "URL value in a widget label": "q = st.query_params['q']\nst.button(q)",
    "URL value in help": "q = st.query_params.get('q')\nst.slider('x', help=q)",
    "inside a function": "def f():\n    v = st.query_params.get('v')\n    st.info(f'{v}')",
    "unpacked": "a, b = st.query_params.get('a'), 1\nst.caption(a)",
}
CLEAN = {
    "escaped": "me = profile.learner()\nst.subheader(t('progress', name=shell.md_plain(me.name)))",
    "plain text element": "typed = st.text_area('a')\nst.text(typed)",
    "number from the URL": "n = int(st.query_params.get('n', 0))\nst.caption(f'{n}')",
    "lookup by a URL key": "card = deck.by_id[st.query_params.get('card')]\nst.markdown(card.text)",
    "a bool from typed text": "typed = st.text_input('a')\nkey = 'x' if typed.strip() else 'y'\nst.markdown(t(key))",
    "opted out with a reason": "q = st.query_params.get('q')\nst.markdown(q)  # md-safe: checked by judge() above",
}


@pytest.mark.parametrize("src", CAUGHT.values(), ids=CAUGHT.keys())
def test_scan_catches(src: str) -> None:
    assert scan_source(src), src


@pytest.mark.parametrize("src", CLEAN.values(), ids=CLEAN.keys())
def test_scan_passes_clean(src: str) -> None:
    assert scan_source(src) == []


# ---------------------------------------------------------------------------------------------
# AppTest: each echo of a URL value, with the vectors

IMG = f"![x]({HOST}/p.png)"
PHISH = f"[Session expired: sign in again]({HOST}/login)"


_run = functools.partial(open_page, timeout=90)


def _messages(at: AppTest) -> list[str]:
    return [m.value for kind in ("toast", "warning", "error", "info", "caption", "subheader", "markdown")
            for m in getattr(at, kind)]


def _no_markup(messages: list[str]) -> None:
    for m in messages:
        kinds = {t.type for t in _walk(_parse(m))}
        assert not kinds & {"image", "link_open"}, m  # (the app's own strings may say `<bos>`)


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    return path


@pytest.mark.parametrize("page,params,needle", [
    ("attention", {"layer": IMG}, "layer"),                          # ui.state bad value
    ("masks", {"section": IMG}, "section"),                          # a section picker
    ("flashcards", {"cards": PHISH}, "Session expired"),             # unknown cards
    ("lessons", {"lesson": IMG}, "no lesson"),                       # lesson not found
    ("lessons", {"lesson": "x", "step": PHISH}, "step"),             # bad step
    ("positional_encoding", {"section": "curves", "dims": "0,1,2,3,4,5,6,7,8"}, "dims"),  # too many
])
def test_url_echo_is_escaped(db: Path, page: str, params: dict, needle: str) -> None:
    at = _run(page, **params)
    msgs = _messages(at)
    assert any(needle.lower() in m.lower() for m in msgs), msgs
    _no_markup(msgs)
