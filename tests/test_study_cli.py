"""The instructor CLI (`python -m study`): learners, import (the page's validation), imported
cards, export; on SQLite and PostgreSQL (`store_target`), in-process through `main()` and once
through a real subprocess. Never a traceback: exit 0 done, 1 refused (one line), 2 bad arguments."""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from study.__main__ import COMMANDS, main
from study.stores import open_store

ROOT = Path(__file__).resolve().parents[1]

CARD = """\
- id: {id}
  topic: attention
  difficulty: 2
  question: {{zh: 为什么要缩放？, en: "Why scale by sqrt(d_k)?"}}
  answer: {{zh: 防止 softmax 饱和。, en: "=1+1 keeps softmax out of saturation."}}
  keywords: {{zh: [[饱和]], en: [[saturation]]}}
  source: supplement
"""


def cli(*args: str, db: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--db", db], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def learner_names(db: str) -> list[str]:
    code, out, _ = cli("learners", "list", db=db)
    assert code == 0
    return out.splitlines()


@pytest.fixture()
def db(store_target: str) -> str:
    code, out, err = cli("learners", "add", "Alice", db=store_target)
    assert code == 0 and "added learner 'Alice'" in out, err
    return store_target


def test_learners_add_list_remove(db: str) -> None:
    assert cli("learners", "add", "Bob", db=db)[0] == 0
    assert learner_names(db) == ["Alice", "Bob"]
    code, _, err = cli("learners", "add", "ALICE", db=db)  # the store's rule: unique case-insensitively
    assert code == 1 and err.startswith("error: learner name refused") and err.count("\n") == 1
    code, _, err = cli("learners", "add", "\u202eecila", db=db)  # bidi override: refused
    assert code == 1 and "U+202E" in err
    code, _, err = cli("learners", "add", "   ", db=db)
    assert code == 1 and "empty" in err
    assert learner_names(db) == ["Alice", "Bob"]
    code, out, _ = cli("learners", "remove", "bob", db=db)
    assert code == 0 and "removed learner 'Bob'" in out
    assert learner_names(db) == ["Alice"]
    code, _, err = cli("learners", "remove", "Carol", db=db)
    assert code == 1 and "no learner named 'Carol'" in err
    code, _, err = cli("learners", "add", db=db)
    assert code == 1 and "needs a NAME" in err


def test_remove_deletes_everything_of_that_learner_only(db: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    store = open_store(db)
    try:
        alice = store.profile_by_name("Alice")
        bob = store.create_profile("Bob")
        for p in (alice, bob):
            store.set_bookmark(p.id, "why-scale-by-sqrt-dk", True)
            store.set_setting(p.id, "new_per_day", 5)
            store.replace_imported_cards(p.id, [{"id": "x"}])
            store.save_interview(p.id, datetime.now(UTC), datetime.now(UTC), {}, {}, [])
        assert cli("learners", "remove", "Alice", db=db)[0] == 0
        assert store.profile_by_name("Alice") is None
        assert store.bookmarks(bob.id) == {"why-scale-by-sqrt-dk"} and store.imported_cards(bob.id) == [{"id": "x"}]
        assert len(store.interviews(bob.id)) == 1
        assert store.bookmarks(alice.id) == set() and store.interviews(alice.id) == []
        assert store.imported_cards(alice.id) == [] and store.get_setting(alice.id, "new_per_day") is None
    finally:
        store.close()


def test_import_then_list_delete(db: str, tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(CARD.format(id="my-one") + CARD.format(id="my-two"), encoding="utf-8")
    code, out, err = cli("import", str(f), "--learner", "alice", db=db)
    assert code == 0 and out == "imported 2 card(s) for 'Alice'\n", err
    code, out, _ = cli("imported", "list", "--learner", "Alice", db=db)
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == ["my-one", "my-two"]
    code, out, _ = cli("imported", "delete", "my-one", "nope", "--learner", "Alice", db=db)
    assert code == 0 and "deleted 1 imported card(s)" in out
    code, out, _ = cli("imported", "delete", "--learner", "Alice", db=db)
    assert code == 0 and "deleted 1 imported card(s)" in out
    assert cli("imported", "list", "--learner", "Alice", db=db)[1] == ""


@pytest.mark.parametrize("text, words", [
    (CARD.format(id="why-scale-by-sqrt-dk"), "already used by the built-in bank"),
    (CARD.format(id="my-one").replace("topic: attention", "topic: astrology"), "astrology"),
    (CARD.format(id="my-one").replace("Why scale", "![x](http://127.0.0.1:9/p.png) Why"), "image"),
    (CARD.format(id="my-one") + "  demo: {id: attention, params: &p {d_k: 64}}\n", "anchors"),
    ("id: not-a-list\n", "YAML list"),
    ("- [unclosed\n", "YAML syntax error"),
    ("", "non-empty YAML list"),
])
def test_import_rejections_on_one_line(db: str, tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    code, out, err = cli("import", str(f), "--learner", "Alice", db=db)
    assert code == 1 and out == ""
    assert err.startswith("error: bad.yaml: rejected: ") and words in err and err.count("\n") == 1, err
    assert cli("imported", "list", "--learner", "Alice", db=db)[1] == ""  # nothing half-imported


def test_import_refusals_before_reading(db: str, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 1_100_000)
    code, _, err = cli("import", str(big), "--learner", "Alice", db=db)
    assert code == 1 and "file too large" in err
    code, _, err = cli("import", str(tmp_path / "missing.yaml"), "--learner", "Alice", db=db)
    assert code == 1 and "cannot read" in err
    code, _, err = cli("import", str(tmp_path), "--learner", "Alice", db=db)
    assert code == 1 and "is a folder" in err
    f = tmp_path / "ok.yaml"
    f.write_text(CARD.format(id="my-one"), encoding="utf-8")
    code, _, err = cli("import", str(f), "--learner", "Nobody", db=db)
    assert code == 1 and "no learner named 'Nobody'" in err


def test_export_csv_apkg_json(db: str, tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(CARD.format(id="my-one"), encoding="utf-8")
    assert cli("import", str(f), "--learner", "Alice", db=db)[0] == 0
    out_csv = tmp_path / "a.csv"
    code, out, err = cli("export", "--learner", "Alice", "--format", "csv", "--out", str(out_csv), db=db)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    mine = next(r for r in rows if r["id"] == "my-one")
    assert mine["answer_en"] == "'=1+1 keeps softmax out of saturation."  # formula-escaped
    assert any(r["id"] == "why-scale-by-sqrt-dk" for r in rows)
    out_apkg = tmp_path / "a.apkg"
    assert cli("export", "--learner", "Alice", "--format", "apkg", "--out", str(out_apkg), db=db)[0] == 0
    with zipfile.ZipFile(out_apkg) as z:
        assert "collection.anki2" in z.namelist()
    out_json = tmp_path / "a.json"
    assert cli("export", "--learner", "Alice", "--format", "json", "--out", str(out_json), db=db)[0] == 0
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["learner"] == "Alice" and len(doc["cards"]) == len(rows)
    assert [c["id"] for c in doc["cards"] if c["imported"]] == ["my-one"]
    assert doc["progress"] == {} and doc["reviews"] == []


def test_export_refusals(db: str, tmp_path: Path) -> None:
    code, _, err = cli("export", "--learner", "Alice", "--format", "csv", "--out", str(tmp_path), db=db)
    assert code == 1 and "is a folder" in err
    assert not list(tmp_path.glob("*.tmp"))
    code, _, err = cli("export", "--learner", "Zed", "--format", "csv", "--out", str(tmp_path / "z.csv"), db=db)
    assert code == 1 and "no learner named" in err


def test_db_errors_are_one_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.sqlite3")
    code, _, err = cli("learners", "list", db=missing)
    assert code == 1 and "no progress file" in err and not Path(missing).exists()
    code, _, err = cli("learners", "list", db=str(tmp_path))
    assert code == 1 and "is a folder" in err
    foreign = tmp_path / "foreign.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    code, _, err = cli("learners", "list", db=str(foreign))
    assert code == 1 and err.startswith("error: cannot use the progress store") and err.count("\n") == 1
    code, _, err = cli("learners", "list", db="postgresql://u:secret@127.0.0.1:9/none?connect_timeout=2")
    assert code == 1 and "secret" not in err and err.count("\n") == 1


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    for argv in (["export", "--learner", "A", "--format", "xls", "--out", "x"], ["learners", "rename"], [],
                 ["import"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_commands_registry_is_extensible() -> None:
    assert {"learners", "import", "imported", "export"} <= set(COMMANDS)


def test_real_subprocess(tmp_path: Path) -> None:
    db = str(tmp_path / "p.sqlite3")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "study", *args, "--db", db], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert run("learners", "add", "Alice").returncode == 0
    f = tmp_path / "bad.yaml"
    f.write_text("[" * 600 + "]" * 600, encoding="utf-8")
    res = run("import", str(f), "--learner", "Alice")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr == "error: bad.yaml: rejected: line 1: nested deeper than 12 levels\n"
    res = run("learners", "list")
    assert res.returncode == 0 and res.stdout == "Alice\n"
