"""Anki .apkg and CSV export; YAML import (validated, size-limited, all or nothing)."""
from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest
import yaml

from questions.schema import Card
from study import export
from study.deck import load_cards


@pytest.fixture(scope="module")
def cards() -> list[Card]:
    deck = load_cards()
    assert len(deck.cards) >= 5
    return deck.cards[:12]


def _open_apkg(data: bytes, tmp_path: Path) -> sqlite3.Connection:
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert "collection.anki2" in zf.namelist()
    out = tmp_path / "collection.anki2"
    out.write_bytes(zf.read("collection.anki2"))
    return sqlite3.connect(out)


def test_apkg_notes_guids_and_fields(cards: list[Card], tmp_path: Path) -> None:
    conn = _open_apkg(export.to_apkg(cards), tmp_path)
    assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == len(cards)
    assert conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == len(cards)
    guids = dict(conn.execute("SELECT guid, flds FROM notes"))
    first = cards[0]
    guid = export.note_guid(first.id)
    assert guid in guids
    fields = guids[guid].split("\x1f")
    assert fields[0] == first.id
    assert first.question.en.strip()[:20] in fields[3]   # English question
    assert any("\u4e00" <= ch <= "\u9fff" for ch in fields[2])  # Chinese question
    assert conn.execute("SELECT mid FROM notes LIMIT 1").fetchone()[0] == export.ANKI_MODEL_ID
    # a second export has the same guids: Anki updates instead of duplicating
    conn2 = _open_apkg(export.to_apkg(cards), tmp_path / "again" if (tmp_path / "again").mkdir() is None else tmp_path)
    assert {g for (g,) in conn2.execute("SELECT guid FROM notes")} == set(guids)


def test_apkg_latex_converted(tmp_path: Path) -> None:
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "questions" / "architecture.yaml").read_text())
    card = Card.model_validate(raw[0])
    conn = _open_apkg(export.to_apkg([card]), tmp_path)
    flds = conn.execute("SELECT flds FROM notes").fetchone()[0]
    assert "\\(" in flds and "$" not in flds.replace("\\$", "")


def test_latex_to_anki() -> None:
    assert export.latex_to_anki("a $x^2$ and $$\\sum_i x_i$$ end") == "a \\(x^2\\) and \\[\\sum_i x_i\\] end"
    assert export.latex_to_anki("costs \\$5 and $d_k$") == "costs $5 and \\(d_k\\)"
    assert export.latex_to_anki("$$\na<b\n$$") == "\\[a<b\\]"


def test_md_to_html_escapes_and_keeps_math() -> None:
    html = export._md_to_html("**Short:** <script>x</script> $a<b$\n- item")
    assert "<b>Short:</b>" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "\\(a&lt;b\\)" in html and "• item" in html


def test_csv(cards: list[Card]) -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(cards))))
    assert rows[0][:3] == ["id", "topic", "difficulty"]
    assert len(rows) == len(cards) + 1
    assert rows[1][0] == cards[0].id and rows[1][4] == cards[0].question.en


GOOD = """
- id: my-own-card
  topic: attention
  difficulty: 2
  source: supplement
  question: {zh: 为什么要缩放？, en: "Why scale?"}
  answer: {zh: 为了让 softmax 不饱和。, en: To keep the softmax out of saturation.}
  keywords: {zh: [[softmax], [饱和]], en: [[softmax], [saturation, saturate]]}
- id: my-second-card
  topic: masking
  difficulty: 1
  source: supplement
  question: {zh: 什么是因果掩码？, en: "What is a causal mask?"}
  answer: {zh: 禁止看见未来位置。, en: It hides future positions.}
  keywords: {zh: [[未来]], en: [[future]]}
"""


def test_import_ok() -> None:
    out = export.parse_import(GOOD.encode())
    assert [c["id"] for c in out] == ["my-own-card", "my-second-card"]
    assert Card.model_validate(out[0]).keywords.en == [["softmax"], ["saturation", "saturate"]]


def test_import_all_or_nothing() -> None:
    bad = GOOD.replace("topic: masking", "topic: astrology")
    with pytest.raises(export.ImportRejected) as exc:
        export.parse_import(bad.encode())
    assert len(exc.value.errors) == 1
    assert "card 2 ('my-second-card')" in exc.value.errors[0] and "astrology" in exc.value.errors[0]


def test_import_rejections() -> None:
    with pytest.raises(export.ImportRejected, match="too large"):
        export.parse_import(b"x" * (export.MAX_IMPORT_BYTES + 1))
    with pytest.raises(export.ImportRejected, match="line 3: YAML syntax error"):
        export.parse_import(b"- id: a\n  b: [unclosed\n")
    with pytest.raises(export.ImportRejected, match="YAML list"):
        export.parse_import(b"id: a\n")
    with pytest.raises(export.ImportRejected, match="UTF-8"):
        export.parse_import(b"\xff\xfe\xfa")
    with pytest.raises(export.ImportRejected, match="already used by the built-in bank"):
        export.parse_import(GOOD.encode(), reserved_ids={"my-own-card"})
    with pytest.raises(export.ImportRejected, match="duplicate id"):
        export.parse_import((GOOD + GOOD.replace("my-second-card", "third")).encode())
    # safe_load: no python objects
    with pytest.raises(export.ImportRejected):
        export.parse_import(b"- !!python/object/apply:os.system ['echo hi']\n")
