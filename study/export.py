"""Export cards (Anki .apkg via genanki, CSV) and import a learner's own YAML bank.

Anki: the model and deck ids are constants and each note's guid is derived from the card id, so
importing a newer export into Anki updates the notes instead of duplicating them. LaTeX is
converted from `$…$` / `$$…$$` to Anki's MathJax delimiters `\\(…\\)` / `\\[…\\]`; both
languages are on each note.

Import: read by the app's one safe YAML loader (questions/safe_yaml.py, `IMPORT_LIMITS`: no
anchors, aliases, merge keys or tags; bytes, depth, nodes and scalar length capped before any
object is built), every card validated with the question bank's schema and lint, and its texts by
the CommonMark judge (questions/markdown_check.py: no images, outside links or raw HTML); any
error rejects the whole file (nothing half-imported).
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
from pydantic import ValidationError
from yaml.nodes import MappingNode, SequenceNode

from questions import lint as checks
from questions import markdown_check, safe_yaml
from questions.lint import Loc, _strings
from questions.safe_yaml import locate_line, node_line
from questions.schema import TOPICS, Card

ANKI_MODEL_ID = 1_607_392_319   # fixed forever: changing it makes Anki see a new note type
ANKI_DECK_ID = 2_059_400_110    # fixed forever: the "Transformer Interview Lab" deck
DECK_NAME = "Transformer Interview Lab"
MAX_IMPORT_BYTES = 1_000_000   # a learner's own deck (JSON-escaped CJK counts 6 bytes a character)
MAX_IMPORT_CARDS = 500
# What an uploaded file may cost before any object is built (questions/safe_yaml.py).
IMPORT_LIMITS = safe_yaml.Limits(max_bytes=MAX_IMPORT_BYTES, max_depth=12, max_nodes=25_000, max_scalar=10_000)

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


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that begins like a formula (`=`, `+`, `-`, `@`, tab,
    carriage return) gets a leading `'` (OWASP's advice against CSV formula injection)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(cards: Iterable[Card]) -> str:
    """CSV (UTF-8 with a header row): id, topic, difficulty, both questions and answers; text cells
    are escaped against formula injection (`csv_cell`)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "topic", "difficulty", "question_zh", "question_en", "answer_zh", "answer_en"])
    for c in cards:
        w.writerow([csv_cell(v) for v in (c.id, c.topic, c.difficulty, c.question.zh, c.question.en,
                                          c.answer.zh, c.answer.en)])
    return buf.getvalue()


class ImportRejected(ValueError):
    """The uploaded bank was rejected as a whole; `errors` says why (one line each)."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors[:5]))


# The card fields shown as Markdown (and the other free texts): judged by the CommonMark parser.
_TEXT_FIELDS = ("question", "answer", "aliases", "keywords", "corrections", "followups")


def _outside_content(raw: dict) -> list[tuple[Loc, str]]:
    """Markdown that would make a viewer's browser fetch or follow something chosen by the file's
    author (images, outside links, raw HTML...), judged by questions.markdown_check."""
    out: list[tuple[Loc, str]] = []
    for key in _TEXT_FIELDS:
        for loc, text in _strings(raw.get(key), (key,)):
            out.extend((loc, problem) for problem in markdown_check.judge(text))
    return out


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse_import(data: bytes, reserved_ids: Iterable[str] = ()) -> list[dict]:
    """Validate an uploaded YAML bank; the cards as plain dicts, or ImportRejected (all or nothing).

    The file is read by questions/safe_yaml.py with `IMPORT_LIMITS` (no anchors, aliases, merge
    keys or tags; size, depth, node and scalar caps checked before anything is built), every card
    goes through the bank's schema and lint, and its texts through the Markdown judge. Errors are
    `line N: card i ('id'): field: reason`. `reserved_ids` are ids the file may not use (the
    built-in bank's).
    """
    try:
        root = safe_yaml.compose(data, IMPORT_LIMITS)
    except safe_yaml.YamlError as exc:
        raise ImportRejected([_one_line(exc)]) from None
    if not isinstance(root, SequenceNode) or not root.value:
        where = f"line {node_line(root)}: " if root is not None else ""
        raise ImportRejected([f"{where}the file must be a non-empty YAML list of cards (- id: ...)"])
    if len(root.value) > MAX_IMPORT_CARDS:
        raise ImportRejected([f"too many cards: {len(root.value)} (limit {MAX_IMPORT_CARDS})"])
    reserved = set(reserved_ids)
    errors: list[str] = []
    out: list[dict] = []
    seen: set[str] = set()
    for i, node in enumerate(root.value, start=1):
        label = f"line {node_line(node)}: card {i}"
        if not isinstance(node, MappingNode):
            errors.append(f"{label}: not a mapping")
            continue
        try:
            item = safe_yaml.construct(node)
        except safe_yaml.YamlError as exc:
            errors.append(_one_line(f"line {exc.line or node_line(node)}: card {i}: {exc.reason}"))
            continue
        if isinstance(item.get("id"), str):
            label = f"card {i} ({item['id']!r})"
        else:
            label = f"card {i}"
        try:
            card = Card.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err.get("loc", ()))
                msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
                where = ".".join(str(p) for p in loc)
                errors.append(_one_line(f"line {locate_line(node, loc)}: {label}: {where}: {msg}" if where
                                        else f"line {node_line(node)}: {label}: {msg}"))
            continue
        for loc, msg in [*checks.lint_card(item), *_outside_content(item)]:
            errors.append(_one_line(f"line {locate_line(node, loc)}: {label}: {'.'.join(map(str, loc))}: {msg}"))
        if card.id in reserved:
            errors.append(f"line {locate_line(node, ('id',))}: {label}: id is already used by the built-in bank")
        if card.id in seen:
            errors.append(f"line {locate_line(node, ('id',))}: {label}: duplicate id in this file")
        seen.add(card.id)
        out.append(card.model_dump(mode="json"))
    if errors:
        raise ImportRejected(errors)
    return out
