"""Export cards (Anki .apkg via genanki, CSV) and import a learner's own YAML bank.

Anki: the model and deck ids are constants and each note's guid is derived from the card id, so
importing a newer export into Anki updates the notes instead of duplicating them. LaTeX is
converted from `$…$` / `$$…$$` to Anki's MathJax delimiters `\\(…\\)` / `\\[…\\]`; both
languages are on each note.

Import: at most `MAX_IMPORT_BYTES`, parsed with yaml.safe_load, every card validated with the
question bank's schema (and its extra lint checks when present); any error rejects the whole
file (nothing half-imported).
"""
from __future__ import annotations

import csv
import html
import io
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import genanki
import yaml
from pydantic import ValidationError

from questions.schema import TOPICS, Card

ANKI_MODEL_ID = 1_607_392_319   # fixed forever: changing it makes Anki see a new note type
ANKI_DECK_ID = 2_059_400_110    # fixed forever: the "Transformer Interview Lab" deck
DECK_NAME = "Transformer Interview Lab"
MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_CARDS = 2000

_FIELDS = ["Id", "Topic", "QuestionZh", "QuestionEn", "AnswerZh", "AnswerEn"]
ANKI_MODEL = genanki.Model(
    ANKI_MODEL_ID,
    "Transformer Interview Lab (bilingual)",
    fields=[{"name": f} for f in _FIELDS],
    templates=[{
        "name": "Card 1",
        "qfmt": '<div class="q">{{QuestionZh}}</div><div class="q en">{{QuestionEn}}</div>'
                '<div class="topic">{{Topic}}</div>',
        "afmt": '{{FrontSide}}<hr id="answer"><div class="a">{{AnswerZh}}</div><hr>'
                '<div class="a en">{{AnswerEn}}</div>',
    }],
    css=".card{font-family:sans-serif;font-size:18px;text-align:left;line-height:1.5}"
        ".q{font-weight:bold;font-size:22px}.en{color:#345}.topic{color:#888;font-size:14px}",
)

_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)


def latex_to_anki(text: str) -> str:
    """`$$x$$` -> `\\[x\\]`, `$x$` -> `\\(x\\)`; an escaped `\\$` stays a literal dollar."""
    text = _DISPLAY.sub(lambda m: r"\[" + m.group(1).strip() + r"\]", text)
    text = _INLINE.sub(lambda m: r"\(" + m.group(1) + r"\)", text)
    return text.replace(r"\$", "$")


def note_guid(card_id: str) -> str:
    return genanki.guid_for("til", card_id)


def _md_to_html(text: str) -> str:
    """Minimal Markdown -> HTML for Anki: escaped text, math kept, **bold**, `code`, lists, lines."""
    math: list[str] = []

    def keep(m: re.Match) -> str:
        math.append(html.escape(m.group(0), quote=False))
        return f"\x00{len(math) - 1}\x00"

    text = latex_to_anki(text)
    text = re.sub(r"\\\[.+?\\\]|\\\(.+?\\\)", keep, text, flags=re.S)
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    lines = []
    for line in text.strip().split("\n"):
        m = re.match(r"^\s*(?:[-*]|\d+\.)\s+(.*)$", line)
        lines.append(f"• {m.group(1)}" if m else line)
    text = "<br>".join(lines)
    return re.sub("\x00(\\d+)\x00", lambda m: math[int(m.group(1))], text)


def anki_note(card: Card) -> genanki.Note:
    topic = TOPICS.get(card.topic, (card.topic, card.topic))
    return genanki.Note(
        model=ANKI_MODEL,
        fields=[card.id, f"{topic[0]} / {topic[1]}",
                _md_to_html(card.question.zh), _md_to_html(card.question.en),
                _md_to_html(card.answer.zh), _md_to_html(card.answer.en)],
        guid=note_guid(card.id),
        tags=[card.topic, f"difficulty{card.difficulty}"],
    )


def to_apkg(cards: Iterable[Card]) -> bytes:
    """An Anki package of the cards, as bytes."""
    deck = genanki.Deck(ANKI_DECK_ID, DECK_NAME)
    for card in cards:
        deck.add_note(anki_note(card))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deck.apkg"
        genanki.Package(deck).write_to_file(str(path), timestamp=0)
        return path.read_bytes()


def to_csv(cards: Iterable[Card]) -> str:
    """CSV (UTF-8 with a header row): id, topic, difficulty, both questions and answers."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "topic", "difficulty", "question_zh", "question_en", "answer_zh", "answer_en"])
    for c in cards:
        w.writerow([c.id, c.topic, c.difficulty, c.question.zh, c.question.en, c.answer.zh, c.answer.en])
    return buf.getvalue()


class ImportRejected(ValueError):
    """The uploaded bank was rejected as a whole; `errors` says why (one line each)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors[:5]))


def _lint(raw: dict) -> list[str]:
    """The questions package's extra checks, when that package provides them."""
    try:
        from questions import validate as checks  # type: ignore[attr-defined]
    except ImportError:
        return []
    lint = getattr(checks, "lint_card", None)
    if lint is None:
        return []
    return [f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in lint(raw)]


_MD_IMAGE = re.compile(r"!\[[^\]]*\]\(")


def _remote_content(raw: dict) -> list[str]:
    """Markdown images in an imported card: they would make every viewer's browser fetch a URL
    chosen by whoever wrote the file (cards are rendered as Markdown)."""
    from questions.validate import _strings

    return [f"{'.'.join(map(str, loc))}: Markdown images are not allowed in imported cards"
            for loc, text in _strings(raw) if _MD_IMAGE.search(text)]


def parse_import(data: bytes, reserved_ids: Iterable[str] = ()) -> list[dict]:
    """Validate an uploaded YAML bank; the cards as plain dicts, or ImportRejected (all or nothing).

    `reserved_ids` are ids the file may not use (the built-in bank's).
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRejected([f"file too large: {len(data):,} bytes (limit {MAX_IMPORT_BYTES:,})"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected(["not UTF-8 text"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ImportRejected([f"YAML syntax error: {where}{getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(raw, list) or not raw:
        raise ImportRejected(["the file must be a non-empty YAML list of cards (- id: ...)"])
    if len(raw) > MAX_IMPORT_CARDS:
        raise ImportRejected([f"too many cards: {len(raw)} (limit {MAX_IMPORT_CARDS})"])
    reserved = set(reserved_ids)
    errors: list[str] = []
    out: list[dict] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        label = f"card {i}"
        if not isinstance(item, dict):
            errors.append(f"{label}: not a mapping")
            continue
        if isinstance(item.get("id"), str):
            label = f"card {i} ({item['id']!r})"
        try:
            card = Card.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err.get("loc", ()))
                msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                errors.append(f"{label}: {loc}: {msg}" if loc else f"{label}: {msg}")
            continue
        errors.extend(f"{label}: {m}" for m in _lint(item))
        errors.extend(f"{label}: {m}" for m in _remote_content(item))
        if card.id in reserved:
            errors.append(f"{label}: id is already used by the built-in bank")
        if card.id in seen:
            errors.append(f"{label}: duplicate id in this file")
        seen.add(card.id)
        out.append(card.model_dump(mode="json"))
    if errors:
        raise ImportRejected(errors)
    return out
