"""HTML / script / Markdown injection through every text box and upload of the app, in chromium.

Each input gets payloads typed into it (and, for URL-bound inputs, sent in a link as well, the
way a shared link would carry them). After every step the page must show:

* no script ran: `window.__pwned` is undefined (every payload tries to set it);
* no element made from user text: no <script> with the payload, no element with an `onerror`
  attribute, no <img> pointing at `x` or 127.0.0.1:9, no `javascript:` link (HTML or SVG), no
  <b>/<strong>/bold SVG text whose content is exactly "bold" (from `<b>bold</b>`);
* no request to the payload's image URLs;
* the payload text literally on screen (DOM text, including the figures' SVG labels) where the
  page echoes the input;
* no page errors, no console errors, no Streamlit exception box.
"""
from __future__ import annotations

import json
import time
import urllib.parse

import pytest

from tests.browser import chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
BOLD = "<b>bold</b>"
JS_MD = "[x](javascript:window.__pwned=1)"
IMG_MD = "![x](http://127.0.0.1:9/x.png)"
JS_A = '<a href="javascript:window.__pwned=1">link</a>'
PAYLOAD = " ".join([SCRIPT, IMG, BOLD, JS_MD, IMG_MD, JS_A])  # 185 characters: fits every 200-char box

PROBE = """() => {
  const attr = (e, n) => (e.getAttribute(n) || '').trim().toLowerCase();
  const svgText = [...document.querySelectorAll('svg text')].map(t => t.textContent).join('\\n');
  return {
    pwned: typeof window.__pwned !== 'undefined',
    scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__pwned')).length,
    onerror: document.querySelectorAll('[onerror]').length,
    imgs: [...document.querySelectorAll('img')].filter(i => attr(i, 'src') === 'x'
                                                     || attr(i, 'src').includes('127.0.0.1:9')).length,
    jslinks: [...document.querySelectorAll('a')].filter(a => attr(a, 'href').startsWith('javascript:')
                                                      || attr(a, 'xlink:href').startsWith('javascript:')).length,
    bold: [...document.querySelectorAll('b, strong')].filter(b => b.textContent === 'bold').length
        + [...document.querySelectorAll('svg tspan')].filter(
            t => t.textContent === 'bold' && /bold/.test(t.getAttribute('style') || '')).length,
    exceptions: document.querySelectorAll('[data-testid="stException"]').length,
    text: document.body.innerText + '\\n' + svgText,
  };
}"""


class Walker:
    """One browser tab walking the app, checking the page after every step."""

    def __init__(self, page, base: str) -> None:
        self.page, self.base = page, base
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("request", self._request)
        self.log: list[str] = []

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        # not from user input: Streamlit's own probes of <page>/_stcore/* (404 on a page path) and
        # Material Symbols icons fetched from fonts.gstatic.com (no network on this machine)
        if msg.text.startswith("Failed to load resource") and (
                "/_stcore/" in url or url.startswith("https://fonts.gstatic.com/")):
            return
        self.errors.append(f"console: {msg.text} ({url})")

    def _request(self, req) -> None:
        url = req.url
        if "127.0.0.1:9/" in url or url.rstrip("/").endswith("/x") or url.startswith("javascript:"):
            self.requests.append(url)

    def goto(self, path: str, **params: str) -> None:
        query = urllib.parse.urlencode({"lang": "en", **params})
        self.page.goto(f"{self.base}/{path}?{query}")
        self.settle()

    def settle(self) -> None:
        """Streamlit finished the run and the DOM stopped changing (figures drawn)."""
        wait_rendered(self.page)
        last = None
        for _ in range(40):
            now = self.page.evaluate("() => [document.body.innerText.length, document.querySelectorAll('*').length]")
            if now == last:
                return
            last = now
            self.page.wait_for_timeout(250)

    def type(self, label: str, text: str, *, area: bool = False, nth: int = 0) -> None:
        box = self.page.get_by_label(label, exact=True).nth(nth)
        box.scroll_into_view_if_needed()
        box.fill(text)
        box.press("Control+Enter" if area else "Enter")
        self.page.wait_for_timeout(300)
        self.settle()

    def check(self, step: str, *, literal: tuple[str, ...] = ()) -> dict:
        deadline = time.time() + 60  # a loaded CI machine may still be drawing the section
        while literal and time.time() < deadline:
            text = self.page.inner_text("body").replace("\u2060", "")
            if all(f in text for f in literal):
                break
            self.page.wait_for_timeout(500)
        state = self.page.evaluate(PROBE)
        bad = {k: v for k, v in state.items() if k != "text" and v}
        assert not bad, (step, bad)
        assert not self.requests, (step, self.requests)
        # md_plain puts an invisible word joiner after "http", "www" and "@" (so GFM cannot autolink a
        # bare URL in escaped text): the reader sees the text as typed
        shown = state["text"].replace("\u2060", "")
        for fragment in literal:
            assert fragment in shown, (step, fragment, shown[:3000])
        assert not self.errors, (step, self.errors)
        self.log.append(step)
        return state


def _card_yaml(payload: str = PAYLOAD, wrap=lambda s: s) -> bytes:
    card = {"id": "injected-card", "topic": "attention", "difficulty": 1, "source": "supplement",
            "question": {"zh": f"问题 {payload}", "en": f"Question {payload}"},
            "answer": {"zh": f"答案 {payload}", "en": f"Answer {payload}"},
            "keywords": {"zh": [[wrap(SCRIPT)]], "en": [[wrap(SCRIPT)], [wrap(BOLD)]]},
            "aliases": {"zh": [wrap(IMG)], "en": [wrap(JS_MD)]}}
    return json.dumps([card], ensure_ascii=False).encode()  # JSON is YAML


@pytest.fixture(scope="module")
def walker(tmp_path_factory, artifacts):
    env = {"TIL_DB": str(tmp_path_factory.mktemp("injection") / "progress.sqlite3")}
    with streamlit_server(env) as base, chromium() as ctx:
        yield Walker(ctx.new_page(), base)


@pytest.fixture()
def w(walker):
    walker.errors.clear()
    walker.requests.clear()
    return walker


def test_bank_search(w) -> None:
    w.goto("bank")
    w.type("Search questions", PAYLOAD)
    w.check("bank search typed")
    w.goto("bank", q=PAYLOAD)  # the same text in a shared link
    w.check("bank search link")


def test_attention_sentence_and_target(w) -> None:
    w.goto("attention")
    w.type("Sentence (Chinese or English)", PAYLOAD)
    w.check("attention sentence", literal=("window.__pwned=1</script>",))
    w.type("Decoder side (optional target sentence)", PAYLOAD)
    w.check("attention target")
    w.goto("attention", sentence=PAYLOAD, section="six_steps")
    w.check("attention sentence link", literal=(IMG_MD, BOLD))  # the token picker shows tokens as typed


def test_masks_sentences_and_leak_token(w) -> None:
    w.goto("masks")
    w.type("A batch of sentences (one per line, different lengths)", "\n".join(PAYLOAD.split(" ", 3)), area=True)
    w.check("masks sentences")
    w.goto("masks", section="leak", sentences=f"{SCRIPT} {BOLD} {IMG}")
    w.type("Replace with", BOLD)
    w.check("masks leak token")


def test_shapes_sentences_and_quiz(w) -> None:
    w.goto("shapes")
    w.type("Or type a batch of sentences (separated by |): they set B and S", f"{SCRIPT} {IMG} | {BOLD} {JS_MD}")
    w.check("shapes sentences")
    w.goto("shapes", section="quiz")
    w.type("Your guess", IMG[:60])
    w.check("shapes quiz guess")


def test_generation_sentence_and_gold(w) -> None:
    w.goto("generation")
    w.type("Input sentence (spaces optional)", PAYLOAD)
    w.check("generation sentence")
    w.goto("generation", section="teacher_forcing", sentence="我 爱 你")
    w.type("Target sentence (gold, editable)", PAYLOAD)
    w.check("generation gold")


def test_tokenization_corpus_and_word(w) -> None:
    w.goto("tokenization")
    w.type("Corpus (words separated by spaces; letters and digits only)", PAYLOAD, area=True)
    w.check("tokenization corpus")
    w.goto("tokenization", section="unseen")
    w.type("Word to split", IMG[:40])
    w.check("tokenization word")


def test_flashcards_self_check_answer(w) -> None:
    w.goto("flashcards", check="1")
    w.type("My answer", PAYLOAD, area=True)
    w.page.get_by_role("button", name="Show answer").first.click()
    w.settle()
    _open_expander(w.page, "My answer")  # the expander with the typed text
    w.check("flashcards self-check", literal=(PAYLOAD,))


def _open_expander(page, title: str) -> None:
    """Open the last expander titled `title` and wait until it is open: a click that lands while
    the page is still re-running (a loaded CI machine) can be lost or toggle it shut again."""
    details = page.locator('[data-testid="stExpander"] details').filter(
        has=page.locator("summary", has_text=title)).last
    details.wait_for(timeout=60000)
    for _ in range(10):
        if details.evaluate("d => d.open"):
            return
        details.locator("summary").click()
        page.wait_for_timeout(700)
    raise AssertionError(f"the expander {title!r} did not open")


def test_learner_name_and_yaml_import(w, artifacts) -> None:
    w.goto("flashcards")
    name = IMG[:40]
    w.page.get_by_role("button", name="New learner").click()
    w.type("Name", name)
    w.page.get_by_role("button", name="Create and switch").click()
    w.settle()
    w.page.keyboard.press("Escape")
    w.check("learner name")
    # the sidebar shows the name as typed (escaped: text, not markup; alone on the store, it is a
    # caption rather than a one-option picker) and the link carries it
    shown = w.page.locator('[data-testid="stSidebar"] [data-testid="stCaptionContainer"]').all_inner_texts()
    assert any(name.strip() in text for text in shown), shown
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(w.page.url).query)["learner"] == [name.strip()]

    w.page.get_by_text("Export / import").click()
    upload = w.page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    # a Markdown image (would load a URL chosen by the file's author in every viewer's browser): rejected
    upload.set_input_files(files=[{"name": "mine.yaml", "mimeType": "application/x-yaml", "buffer": _card_yaml()}])
    w.page.wait_for_timeout(800)
    w.settle()
    w.check("yaml import with an image", literal=("image not allowed",))
    # HTML, script and javascript: links in the text: refused too (questions/markdown_check.py)
    safe = PAYLOAD.replace(IMG_MD, "")
    upload.set_input_files(files=[{"name": "mine2.yaml", "mimeType": "application/x-yaml",
                                   "buffer": _card_yaml(safe)}])
    w.page.wait_for_timeout(800)
    w.settle()
    w.check("yaml import with HTML and a javascript: link", literal=("raw HTML not allowed",))
    # the same text in code spans: imported, and shown as typed below
    upload.set_input_files(files=[{"name": "mine3.yaml", "mimeType": "application/x-yaml",
                                   "buffer": _card_yaml(f"`{PAYLOAD}`", lambda t: f"`{t}`")}])
    w.page.wait_for_timeout(800)
    w.settle()
    w.check("yaml import", literal=("Imported 1",))
    w.goto("flashcards", mode="cram", cards="injected-card", learner=name.strip())
    w.check("imported card question", literal=("window.__pwned=1",))
    w.page.get_by_role("button", name="Show answer").first.click()
    w.settle()
    w.check("imported card answer")
    w.page.screenshot(path=str(artifacts / "injection-imported-card.png"), full_page=True)


def test_mock_interview_answer(w, artifacts) -> None:
    w.goto("interview")
    w.page.get_by_role("button", name="Start the interview").click()
    w.settle()
    w.type("My answer", PAYLOAD, area=True)
    w.page.get_by_role("button", name="Submit and see the reference").click()
    w.settle()
    w.check("interview answer", literal=(PAYLOAD,))
    w.page.screenshot(path=str(artifacts / "injection-interview.png"), full_page=True)
