"""Identity: names, PINs, the instructor password, and a fresh session never on another learner.

Store-level checks run on both backends (the `store` fixture of tests/conftest.py: SQLite and
PostgreSQL); the page checks are AppTest runs.
"""
from __future__ import annotations

import functools
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from study import identity as ident
from study.store import MAX_NAME, SCHEMA_VERSION, BadName, SQLiteStore, clean_name, name_key
from tests.apptest import open_page

ROOT = Path(__file__).resolve().parents[2]

REFUSED = {
    "NUL": "ali\x00ce",
    "escape": "\x1b[31malice",
    "newline only": "\n",
    "bidi override (shows as alice)": "\u202eecila",
    "bidi isolate": "\u2066alice\u2069",
    "left-to-right mark": "alice\u200e",
    "zero-width space": "al\u200bice",
    "zero-width joiner": "al\u200dice",
    "zero-width non-joiner": "al\u200cice",
    "word joiner": "al\u2060ice",
    "BOM": "\ufeffalice",
    "soft hyphen": "al\u00adice",
    "Arabic letter mark": "\u061calice",
    "Mongolian vowel separator": "alice\u180e",
    "interlinear annotation": "\ufff9alice",
    "private use": "alice\ue000",
    "unassigned": "alice\U000e0fff",
    "tag characters": "alice\U000e0041",
    "DEL": "alice\x7f",
    "C1 control": "alice\x85x\x9b",
    "empty": "",
    "spaces only": " \t ",
    "too long": "x" * (MAX_NAME + 1),
    "too long after NFKC (ligature ﬃ expands)": "\ufb03" * (MAX_NAME // 3 + 1),
}


@pytest.mark.parametrize("raw", REFUSED.values(), ids=REFUSED.keys())
def test_refused_names(raw: str) -> None:
    with pytest.raises(BadName):
        clean_name(raw)


@pytest.mark.parametrize("a,b", [
    ("Alice", "alice"), ("ALICE", "alice"), ("Ａｌｉｃｅ", "alice"), ("  alice  ", "alice"),
    ("Straße", "STRASSE"), ("ǅemo", "džemo"), ("ΣΊΣΥΦΟΣ", "σίσυφος"), ("a  b", "a b"), ("Å", "Å"),
    ("ｱﾘｽ", "アリス"), ("①", "1"),
])
def test_same_learner(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_clean_name_normalises() -> None:
    assert clean_name("  Ａｌｉｃｅ \t Ｂ ") == "Alice B"
    assert clean_name("Å") == "Å"  # NFKC composes
    assert clean_name("x" * MAX_NAME) == "x" * MAX_NAME
    assert clean_name("中文 名字") == "中文 名字"


def test_store_unique_case_insensitive(store) -> None:
    alice = store.create_profile("Alice")
    for other in ("alice", "ALICE", "Ａｌｉｃｅ", " alice "):
        with pytest.raises(BadName) as exc:
            store.create_profile(other)
        assert exc.value.kind == "taken"
        assert store.profile_by_name(other) == alice
        assert store.get_or_create_profile(other) == alice
    for bad in REFUSED.values():
        with pytest.raises(BadName):
            store.create_profile(bad)
        assert store.profile_by_name(bad) is None
    assert [p.name for p in store.profiles()] == ["Alice"]


def test_store_guests_and_pins(store) -> None:
    g1, g2 = store.create_guest(), store.create_guest()
    assert g1.guest and g2.guest and g1.id != g2.id and g1.name != g2.name
    assert g1.name.startswith("Guest ")
    # renaming a guest keeps its id (its progress) and makes it a regular learner
    bob = store.rename_profile(g1.id, "Bob")
    assert bob.id == g1.id and not bob.guest and bob.name == "Bob"
    with pytest.raises(BadName):
        store.rename_profile(g2.id, "BOB")
    # a PIN is stored as a salted scrypt hash, never as text
    h = ident.hash_secret("2468")
    store.set_secret_hash(bob.id, h)
    assert store.profile_by_id(bob.id).has_secret
    assert store.secret_hash(bob.id) == h and "2468" not in h
    assert ident.verify_secret("2468", store.secret_hash(bob.id))
    assert not ident.verify_secret("2469", store.secret_hash(bob.id))
    store.set_secret_hash(bob.id, None)
    assert not store.profile_by_id(bob.id).has_secret
    # empty guests older than the bound are pruned; guests with progress and learners stay
    store.record_review(g2.id, "q", 3, _now(), None, "{}", 1, _now(), 1.0)
    g3 = store.create_guest()
    assert store.prune_guests(timedelta(seconds=-1)) == 1  # only g3 (empty)
    ids = {p.id for p in store.profiles()}
    assert g3.id not in ids and {bob.id, g2.id} <= ids


def _now():
    from datetime import UTC, datetime
    return datetime.now(UTC)


def test_hashes_are_salted_and_malformed_ones_fail() -> None:
    a, b = ident.hash_secret("same"), ident.hash_secret("same")
    assert a != b and ident.verify_secret("same", a) and ident.verify_secret("same", b)
    for bad in (None, "", "plain", "scrypt$1$2", "scrypt$99999999$8$1$AA==$AA==", "md5$x$y$z$a$b",
                a.replace("scrypt", "SCRYPT")):
        assert not ident.verify_secret("same", bad)
    assert ident.check_secret("123") and ident.check_secret("x" * 200) and ident.check_secret("1234") is None


def test_instructor_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIL_INSTRUCTOR_PASSWORD", raising=False)
    assert not ident.instructor_enabled() and not ident.verify_instructor("")
    monkeypatch.setenv("TIL_INSTRUCTOR_PASSWORD", "open sesame")
    assert ident.verify_instructor("open sesame") and not ident.verify_instructor("open sesam")
    monkeypatch.setenv("TIL_INSTRUCTOR_PASSWORD", ident.hash_secret("hashed pw"))
    assert ident.verify_instructor("hashed pw") and not ident.verify_instructor("scrypt")


def test_v2_file_migrates_with_case_duplicates(tmp_path: Path) -> None:
    """A v2 file with "alice" and "Alice" (allowed then) opens: both kept, one owns the key."""
    path = tmp_path / "old.sqlite3"
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.executescript("DROP INDEX profiles_by_name_key; PRAGMA user_version=2;")
    con.commit()
    con.close()
    # rebuild the v2 profiles table shape (no v3 columns)
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE p2 (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
        DROP TABLE profiles; ALTER TABLE p2 RENAME TO profiles;
        INSERT INTO profiles(name, created_at) VALUES ('alice', 't'), ('Alice', 't'), ('ÉMILE', 't');
    """)
    con.commit()
    con.close()
    s = SQLiteStore(path)
    assert s.schema_version() == SCHEMA_VERSION == 3
    assert sorted(p.name for p in s.profiles()) == ["Alice", "alice", "ÉMILE"]
    assert s.profile_by_name("ALICE").name == "alice"  # the first one owns the key
    assert s.profile_by_name("émile").name == "ÉMILE"   # non-ASCII keys refined at open
    with pytest.raises(BadName):
        s.create_profile("Émile")


# ---------------------------------------------------------------------------------------------
# pages

@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "p.sqlite3"
    monkeypatch.setenv("TIL_DB", str(path))
    monkeypatch.delenv("TIL_CLASS_MODE", raising=False)
    monkeypatch.delenv("TIL_INSTRUCTOR_PASSWORD", raising=False)
    return path


_open = functools.partial(open_page, timeout=90)


def _everything(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "subheader", "text", "info", "warning", "metric", "selectbox", "toast"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
            parts.append(str(getattr(el, "label", "")))
            parts.extend(map(str, getattr(el, "options", []) or []))
    return "\n".join(parts)


def _seed_alice(db: Path, pin: str | None = None) -> int:
    s = SQLiteStore(db)
    alice = s.create_profile("Alice", ident.hash_secret(pin) if pin else None)
    now = _now()
    for i in range(3):
        s.record_review(alice.id, f"card-{i}", 3, now, None, "{}", 1, now + timedelta(days=3), 1.0)
    s.close()
    return alice.id


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fresh_session_is_a_new_guest_not_alice(db: Path, lang: str) -> None:
    """The issue's case: "Alice" exists with progress; a newcomer without ?learner= is not Alice."""
    alice_id = _seed_alice(db)
    for page in ("home", "flashcards", "stats"):
        at = _open(page, lang)
        me = at.session_state["_learner_id"]
        assert me != alice_id
        assert at.selectbox(key="_learner").value.startswith("Guest ")
        if page == "home":
            assert not at.metric  # no progress: the first-visit state
    # a guest's rating is stored on the guest, never on Alice
    at = _open("flashcards", lang)
    at.button(key="fc:reveal").click().run()
    at.button(key="fc:rate3").click().run()
    counts = dict(sqlite3.connect(db).execute("SELECT profile_id, count(*) FROM reviews GROUP BY profile_id"))
    assert counts[alice_id] == 3 and sum(counts.values()) == 4


def test_fresh_session_in_class_mode_lists_nobody(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_alice(db)
    monkeypatch.setenv("TIL_CLASS_MODE", "on")
    at = _open("home", learner="Alice")  # a copied link: ignored in class mode
    text = _everything(at)
    assert "Alice" not in text and not at.metric
    assert "learner" not in at.query_params
    assert len(at.selectbox) == 0 or all("Alice" not in (s.options or []) for s in at.selectbox)


def test_link_with_learner_self_study(db: Path) -> None:
    """Self-study: ?learner= selects a learner without a PIN; with a PIN it asks for it."""
    alice_id = _seed_alice(db)
    at = _open("home", learner="alice")  # case-insensitive
    assert at.session_state["_learner_id"] == alice_id and len(at.metric) == 4
    SQLiteStore(db).set_secret_hash(alice_id, ident.hash_secret("2468"))
    at = _open("home", learner="Alice")
    assert at.session_state["_learner_id"] != alice_id and not at.metric
    at.text_input(key="_signin_pin").input("0000")
    at.button(key="_signin_go").click().run()
    assert at.session_state["_learner_id"] != alice_id
    assert any("Wrong name or PIN" in w.value for w in at.warning)
    at.text_input(key="_signin_pin").input("2468")
    at.button(key="_signin_go").click().run()
    assert at.session_state["_learner_id"] == alice_id and len(at.metric) == 4


def test_class_mode_sign_in_with_pin_and_lockout(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIL_CLASS_MODE", "on")
    alice_id = _seed_alice(db, pin="2468")
    at = _open("home")
    at.text_input(key="_signin_name").input("ALICE")
    for _ in range(5):
        at.text_input(key="_signin_pin").input("1111")
        at.button(key="_signin_go").click().run()
        assert at.session_state["_learner_id"] != alice_id
    at.text_input(key="_signin_pin").input("2468")  # right PIN, but locked after 5 failures
    at.button(key="_signin_go").click().run()
    assert at.session_state["_learner_id"] != alice_id
    assert any("Too many wrong PINs" in w.value for w in at.warning)


def test_create_learner_messages(db: Path) -> None:
    _seed_alice(db)
    at = _open("home")
    for name, words in [("ALICE", "already exists"), ("\u202eecila", "invisible"), ("al\u200bice", "invisible"),
                        ("  ", "type a name")]:
        at.text_input(key="_learner_new").input(name)
        at.button(key="_learner_create").click().run()
        assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    at.text_input(key="_learner_new").input("![x](http://127.0.0.1:9/p.png)")
    at.text_input(key="_learner_new_pin").input("12")  # too short
    at.button(key="_learner_create").click().run()
    assert any("4 to 128" in w.value for w in at.warning)
    at.text_input(key="_learner_new_pin").input("")
    at.button(key="_learner_create").click().run()
    assert at.query_params["learner"] == "![x](http://127.0.0.1:9/p.png)"
    sub = [s.value for s in at.subheader if "progress" in s.value.lower()]
    assert sub and "\\!\\[x\\]" in sub[0]  # escaped in the heading


def test_instructor_panel(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIL_INSTRUCTOR_PASSWORD", ident.hash_secret("teach"))
    alice_id = _seed_alice(db, pin="2468")
    at = _open("home")
    assert not _has_key(at, f"_instr_rm:{alice_id}")  # nothing before the password
    at.text_input(key="_instructor_pw").input("wrong")
    at.button(key="_instructor_go").click().run()
    assert not _has_key(at, f"_instr_rm:{alice_id}")
    at.text_input(key="_instructor_pw").input("teach")
    at.button(key="_instructor_go").click().run()
    at.button(key=f"_instr_pin:{alice_id}").click().run()
    assert not SQLiteStore(db).profile_by_id(alice_id).has_secret
    at.button(key=f"_instr_rm:{alice_id}").click().run()
    assert SQLiteStore(db).profile_by_id(alice_id) is None
    assert not at.exception


def _has_key(at: AppTest, key: str) -> bool:
    return any(b.key == key for b in at.button)
