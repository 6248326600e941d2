"""In chromium: hostile learner names, imported cards and URL parameters of every page, in both
languages, make the browser fetch nothing from outside.

A logging HTTP server on a random loopback port stands for the attacker's host; every vector of
the corpus points at it. Across the whole run it must receive 0 requests, and no rendered element
may link to it (no <img>/<a>/<source>/<iframe> attribute naming its port). The corpus is batched:
one page load sets every parameter of a page, each to a different vector.

Also: a fresh browser session never shows another learner's name or progress.
"""
from __future__ import annotations

import http.server
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest

from questions.schema import DEMO_SECTIONS
from study.store import SQLiteStore
from tests.browser import chromium, free_port, streamlit_server, wait_rendered
from tests.security.test_url_fuzz import page_params
from ui.nav import PAGES

pytestmark = pytest.mark.browser


class _Logger(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Logger.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def logger():
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Logger)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{port}"
    server.shutdown()


def corpus(host: str) -> list[str]:
    u = f"http://{host}"
    return [
        f"![x]({u}/inline.png)",
        f"![x][r]\n\n[r]: {u}/ref.png",
        f"![r]\n\n[r]: {u}/shortcut.png",
        f"![a[b]c]({u}/nested.png)",
        f'<img src="{u}/html.png">',
        f"[Session expired: sign in again]({u}/phish)",
        f"<{u}/autolink>",
        f"{u}/bare www.example.invalid",
        f"$\\includegraphics{{{u}/tex.png}}$ $\\href{{{u}/h}}{{x}}$",
        f'<svg><image href="{u}/svg.png"/></svg>',
        f"<style>@import url({u}/css);</style>",
        f'<iframe src="{u}/frame"></iframe>',
    ]


NAMES = ["![x](http://{h}/n1.png)", "<img src=http://{h}/n2>", "[a](http://{h}/n3)", "![r]", "\u202eecila"]

PROBE = """(host) => {
  const port = host.split(':')[1];
  const attrs = ['src', 'href', 'xlink:href', 'srcset', 'data', 'poster', 'action', 'style'];
  const bad = [];
  for (const e of document.querySelectorAll('*')) {
    for (const a of attrs) {
      const v = e.getAttribute(a);
      if (v && v.includes(':' + port)) bad.push(e.tagName + ' ' + a + '=' + v);
    }
  }
  return {bad, exceptions: document.querySelectorAll('[data-testid="stException"]').length,
          text: document.body.innerText};
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory, logger):
    db = tmp_path_factory.mktemp("exfil") / "progress.sqlite3"
    s = SQLiteStore(db)
    alice = s.create_profile("Alice")
    now = datetime.now(UTC)
    for i in range(3):
        s.record_review(alice.id, f"c{i}", 3, now, None, "{}", 1, now + timedelta(days=2), 1.0)
    names = []
    for n in NAMES:  # names written by tools that skip the page (store-level check still applies)
        try:
            names.append(s.create_profile(n.format(h=logger)).name)
        except ValueError:
            pass
    # an imported card stored before the Markdown judge existed (or by other means): never shown
    vectors = corpus(logger)
    s.replace_imported_cards(alice.id, [{
        "id": "legacy-hostile", "topic": "attention", "difficulty": 1, "source": "supplement",
        "question": {"zh": "问 " + vectors[0], "en": "Q " + vectors[0]},
        "answer": {"zh": vectors[1], "en": vectors[3]}}])
    s.close()
    with streamlit_server({"TIL_DB": str(db)}) as base:
        yield base, names


def _visit(page, base: str, path: str, params: dict[str, str], host: str) -> dict:
    page.goto(f"{base}/{path}?{urllib.parse.urlencode(params)}")
    wait_rendered(page, timeout_ms=60000)
    page.wait_for_timeout(500)
    state = page.evaluate(PROBE, host)
    assert not state["bad"], (path, params, state["bad"][:5])
    assert not state["exceptions"], (path, params)
    return state


def test_no_outside_request(app, logger) -> None:
    base, names = app
    vectors = corpus(logger)
    _Logger.hits.clear()
    loads = 0
    with chromium() as ctx:
        page = ctx.new_page()
        # learner names (self-study: the link selects them; the name shows in headings and picker)
        for i, name in enumerate(names):
            _visit(page, base, "", {"lang": ("en", "zh")[i % 2], "learner": name}, logger)
            loads += 1
        # the imported card, by id
        for lang in ("en", "zh"):
            _visit(page, base, "flashcards", {"lang": lang, "learner": "Alice", "mode": "cram",
                                              "cards": "legacy-hostile"}, logger)
            loads += 1
        # every parameter of every page, both languages, each a different vector
        for k, spec in enumerate(PAGES):
            for j, lang in enumerate(("en", "zh")):
                names_ = page_params(spec.id)
                params = {n: vectors[(i + k + 5 * j) % len(vectors)] for i, n in enumerate(names_)}
                params["lang"] = lang
                sections = DEMO_SECTIONS.get(spec.id)
                if sections and j == 0:
                    params["section"] = sections[k % len(sections)]
                _visit(page, base, "" if spec.id == "home" else spec.id, params, logger)
                loads += 1
    assert loads >= 2 * len(PAGES)
    assert _Logger.hits == [], _Logger.hits


def test_fresh_session_never_shows_another_learner(app, logger) -> None:
    base, _ = app
    for lang in ("en", "zh"):
        with chromium() as ctx:  # a new browser: no cookies, no session
            page = ctx.new_page()
            state = _visit(page, base, "", {"lang": lang}, logger)
            assert "Alice" not in state["text"]
            guest = "Guest " if lang == "en" else "访客 "  # guests are stored as "Guest N", shown as 访客 N in zh
            assert guest in state["text"]
            sidebar = page.evaluate(
                "() => [...document.querySelectorAll('[data-testid=stSidebar] input')].map(i => i.value)")
            assert not any("Alice" in v for v in sidebar), sidebar
            metrics = page.locator('[data-testid="stMetric"]').count()
            assert metrics == 0  # the first-visit state, no one's streak or due cards
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
            assert query.get("learner", [""])[0].startswith("Guest ")
