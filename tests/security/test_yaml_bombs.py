"""YAML bombs (issue 15, item 1): every kind is refused in < 1 s with < 50 MB of memory growth,
through the page's upload, the instructor CLI (`python -m study import`), `python -m questions
validate` / `python -m lessons validate` (a bomb file dropped into the bank or lessons folder), and
the pages still render with the valid cards.

Each bomb is real: its event stream is valid YAML (checked with `yaml.parse`, which builds no
objects), so the refusal comes from the loader's policy (questions/safe_yaml.py), not a syntax error.
Before the fix the 643-byte billion laughs took 57 s and +780 MB; the 30 KB quadratic one 50 s and
1.1 GB; 600 nested `[` raised RecursionError.

`python -m tests.security.test_yaml_bombs` prints the table (kind, size, time, memory, path).
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from lessons import load_lessons
from questions import safe_yaml
from questions.bank import load_bank
from study import export

ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20
MAX_SECONDS = 1.0
MAX_GROWTH = 50 * MB

HEAD = """\
- id: my-bomb
  topic: attention
  difficulty: 1
  question: {zh: 问题, en: question}
  answer: {zh: 答案, en: answer}
  source: supplement
"""
KEYWORDS = "  keywords: {zh: [[a]], en: [[b]]}\n"


def billion_laughs() -> str:
    """Nine levels of nine aliases under demo.params: 9**9 = 387 million strings once expanded."""
    levels = ['      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"      {name}: &{name} [{','.join('*' + prev for _ in range(9))}]")
    return HEAD + KEYWORDS + "  demo:\n    id: attention\n    params:\n" + "\n".join(levels) + "\n"


def quadratic(n: int) -> str:
    """A list of n aliases to one list of n strings under keywords: n**2 strings once expanded."""
    strings = ", ".join("x" for _ in range(n))
    aliases = ", ".join("*s" for _ in range(n))
    return HEAD + f"  aliases: {{zh: &s [{strings}], en: []}}\n  keywords: {{zh: [{aliases}], en: [[b]]}}\n"


def deep(opener: str, n: int = 600) -> str:
    inner = ("{a: " * n + "b" + "}" * n) if opener == "{" else ("[" * n + "]" * n)
    return HEAD + f"  keywords: {{zh: {inner}, en: [[b]]}}\n"


def merge_alias() -> str:
    return HEAD + KEYWORDS + "- &base\n  id: other\n- <<: *base\n  id: third\n"


def merge_inline() -> str:
    return HEAD + KEYWORDS + "  demo:\n    <<: {id: attention}\n    params: {}\n"


def huge_scalar(n: int = 400_000) -> str:
    return HEAD + KEYWORDS + f"  related: [{'x' * n}]\n"


def many_nodes(n: int = 150_000) -> str:
    return HEAD + f"  keywords: {{zh: [[{', '.join('a' for _ in range(n))}]], en: [[b]]}}\n"


def too_big() -> str:
    return HEAD + KEYWORDS + "".join(f"# padding line {i:07d} ........................................\n"
                                     for i in range(40_000))


def cr_endings() -> str:
    """Classic Mac line ends (lone CR): the anchor is on line 8 as YAML (and an editor) counts."""
    return (HEAD + KEYWORDS + "  demo: {id: attention, params: &p {d_k: 64}}\n").replace("\n", "\r")


def python_tag() -> str:
    return HEAD + KEYWORDS + "  related: !!python/object/apply:os.system ['echo pwned']\n"


def binary_tag() -> str:
    return HEAD + KEYWORDS + "  related: [!!binary aGVsbG8=]\n"


def set_tag() -> str:
    return HEAD + KEYWORDS + "  related: !!set {a, b}\n"


# kind -> (text, expected line of the refusal, words of the reason)
BOMBS: dict[str, tuple[Callable[[], str], int | None, str]] = {
    "billion laughs (9x9 aliases, demo.params)": (billion_laughs, 11, "anchors"),
    "quadratic 30 KB (keywords)": (lambda: quadratic(4_300), 7, "anchors"),
    "quadratic 100 KB (keywords)": (lambda: quadratic(14_300), 7, "anchors"),
    "deep nesting 600 [": (lambda: deep("["), 7, "nested deeper"),
    "deep nesting 600 {": (lambda: deep("{"), 7, "nested deeper"),
    "merge key with alias": (merge_alias, 8, "anchors"),
    "merge key inline": (merge_inline, 9, "merge keys"),
    "huge scalar 400 KB": (huge_scalar, 8, "characters"),
    "many nodes 150k": (many_nodes, 7, "too many values"),
    "file over the byte cap (2.6 MB)": (too_big, None, "too large"),
    "CR line endings, anchor on line 8": (cr_endings, 8, "anchors"),
    "!!python/object tag": (python_tag, 8, "tags"),
    "!!binary tag": (binary_tag, 8, "tags"),
    "!!set tag": (set_tag, 8, "tags"),
}
KINDS = list(BOMBS)
ALIAS_KINDS = [k for k in KINDS if "quadratic" in k or "laughs" in k or "alias" in k]


def bomb(kind: str) -> bytes:
    return BOMBS[kind][0]().encode("utf-8")


def check_reason(kind: str, text: str) -> None:
    _, line, words = BOMBS[kind]
    assert words in text, (kind, text)
    if line is not None:
        assert re.search(rf"\bline {line}\b|:{line}:", text), (kind, line, text)


def measure(fn: Callable[[], object]) -> tuple[float, int]:
    """(seconds without tracing, peak bytes allocated while traced)."""
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak


def reserved() -> set[str]:
    return set(load_bank(ROOT / "questions").by_id)


# ---------------------------------------------------------------------------------------------
# the bombs are real YAML

@pytest.mark.parametrize("kind", [k for k in KINDS if "byte cap" not in k])
def test_bomb_is_valid_yaml(kind: str) -> None:
    """The event stream parses (no objects built): refusals are the loader's policy."""
    events = list(yaml.parse(bomb(kind).decode("utf-8"), Loader=yaml.CSafeLoader))
    assert len(events) > 10


def test_cr_line_numbers_are_the_editors() -> None:
    text = cr_endings()
    assert "\n" not in text
    assert [i for i, line in enumerate(text.splitlines(), 1) if "&p" in line] == [8]


def test_the_alias_bombs_expand_enormously() -> None:
    """What yaml.safe_load would build: count the expanded strings on the node graph (no objects)."""
    def size(node: yaml.Node, memo: dict[int, int]) -> int:
        if id(node) in memo:
            return memo[id(node)]
        if isinstance(node, yaml.ScalarNode):
            n = 1
        elif isinstance(node, yaml.SequenceNode):
            n = sum(size(v, memo) for v in node.value)
        else:
            n = sum(size(k, memo) + size(v, memo) for k, v in node.value)
        memo[id(node)] = n
        return n

    root = yaml.compose(billion_laughs(), Loader=yaml.CSafeLoader)
    assert size(root, {}) > 9 ** 9
    root = yaml.compose(quadratic(3_000), Loader=yaml.CSafeLoader)
    assert size(root, {}) > 3_000 ** 2


# ---------------------------------------------------------------------------------------------
# the function the page and the CLI call

@pytest.mark.parametrize("kind", KINDS)
def test_import_refuses_bomb_fast_and_small(kind: str) -> None:
    data, ids = bomb(kind), reserved()

    def run() -> None:
        with pytest.raises(export.ImportRejected) as exc:
            export.parse_import(data, reserved_ids=ids)
        check_reason(kind, " ".join(exc.value.errors))
        assert all("\n" not in e and "\r" not in e for e in exc.value.errors)

    seconds, peak = measure(run)
    assert seconds < MAX_SECONDS, (kind, seconds)
    assert peak < MAX_GROWTH, (kind, peak / MB)


@pytest.mark.parametrize("kind", KINDS)
def test_safe_loader_refuses_bomb_with_app_limits(kind: str) -> None:
    """The same bombs with the loader's default (app file) limits, as for questions/ and lessons/."""
    data = bomb(kind)
    seconds, peak = measure(lambda: pytest.raises(safe_yaml.YamlError, safe_yaml.load, data))
    assert seconds < MAX_SECONDS and peak < MAX_GROWTH, (kind, seconds, peak / MB)


def test_safe_loader_keeps_plain_data_and_lines() -> None:
    text = "a: 1\rb: [x, 'y', 2.5, true, null]\r\nc:\n  d: {e: f}\n"
    assert safe_yaml.load(text) == {"a": 1, "b": ["x", "y", 2.5, True, None], "c": {"d": {"e": "f"}}}
    node = safe_yaml.compose(text)
    assert safe_yaml.locate_line(node, ("c", "d", "e")) == 4
    assert safe_yaml.locate_line(node, ("b",)) == 2


@pytest.mark.parametrize("text, words", [
    ("a: 1\na: 2\n", "duplicate key"),
    ("? [a]\n: b\n", "plain value"),
    ("a: 2024-02-30\n", "bad value"),
    ("a: " + "9" * 5000 + "\n", "bad value"),
    ("a: [1,\nb: 2\n", "syntax error"),
    ("a: 1\n---\nb: 2\n", "single document"),
    ("a: \x00\n", "control characters"),
    ("a: ! b\n", "tags"),
])
def test_safe_loader_other_refusals(text: str, words: str) -> None:
    with pytest.raises(safe_yaml.YamlError) as exc:
        safe_yaml.load(text)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_safe_loader_bytes_and_file_errors(tmp_path: Path) -> None:
    with pytest.raises(safe_yaml.YamlError, match="not UTF-8"):
        safe_yaml.load(b"a: \xff\n")
    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * (safe_yaml.DEFAULT.max_bytes + 1))
    with pytest.raises(safe_yaml.YamlError, match=r"^big.yaml:0: file too large"):
        safe_yaml.load_file(f)
    with pytest.raises(safe_yaml.YamlError, match="cannot read file"):
        safe_yaml.load_file(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------------------------------
# the page (upload in the flashcards page's Export / import)

def _page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from tests.apptest import open_page

    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    return open_page("flashcards")


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_page_upload_refuses_every_bomb_then_lists_and_deletes_imported(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    at = _page(monkeypatch, tmp_path)
    from ui import shell

    assert shell.wait_warm_up(180)  # the app's background torch import is not the upload's memory
    for i, kind in enumerate(KINDS):
        rss0, t0 = _maxrss(), time.perf_counter()
        at.file_uploader(key="fc:upload").set_value((f"bomb{i}.yaml", bomb(kind), "application/x-yaml")).run()
        seconds, growth = time.perf_counter() - t0, _maxrss() - rss0
        assert not at.exception, (kind, [e.value for e in at.exception])
        errors = [e.value for e in at.error]
        assert any(e.startswith("Nothing imported") for e in errors), (kind, errors)
        check_reason(kind, " ".join(c.value for c in at.code))
        assert growth < MAX_GROWTH, (kind, growth / MB)
        assert seconds < 10 * MAX_SECONDS, (kind, seconds)  # a whole page run, with the bank's deck
    assert "fc:imported_del" not in [b.key for b in at.button]  # nothing was stored

    # a valid file is imported, listed and deleted from the page
    good = (HEAD + KEYWORDS).replace("my-bomb", "my-own-1") + (HEAD + KEYWORDS).replace("my-bomb", "my-own-2")
    at.file_uploader(key="fc:upload").set_value(("mine.yaml", good.encode(), "application/x-yaml")).run()
    assert not at.exception and [s.value for s in at.success] == ["Imported 2 cards into your queue."]
    pick = next(m for m in at.multiselect if m.key and m.key.startswith("fc:imported:"))
    assert pick.options == ["my-own-1", "my-own-2"]
    pick.select("my-own-1").run()
    at.button(key="fc:imported_del").click().run()
    assert not at.exception
    assert any("Deleted 1 imported cards" in s.value for s in at.success)
    pick = next(m for m in at.multiselect if m.key and m.key.startswith("fc:imported:"))
    assert pick.options == ["my-own-2"]
    at.button(key="fc:imported_del_all").click().run()
    assert not at.exception and not [m for m in at.multiselect if m.key and m.key.startswith("fc:imported:")]


# ---------------------------------------------------------------------------------------------
# the CLI: python -m study import

def _run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, float, int]:
    """(exit code, stdout, stderr, seconds, the child's own peak RSS in bytes via os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    out_b = proc.stdout.read()  # type: ignore[union-attr]
    err_b = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (proc.returncode, out_b.decode(), err_b.decode(), time.perf_counter() - t0, usage.ru_maxrss * 1024)


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, int]]:
    """A progress file with learner Alice, and the CLI's (seconds, peak RSS) importing a valid file."""
    d = tmp_path_factory.mktemp("cli")
    db = d / "p.sqlite3"
    code, _, err, _, _ = _run_measured(["-m", "study", "learners", "add", "Alice", "--db", str(db)])
    assert code == 0, err
    good = d / "good.yaml"
    good.write_text(HEAD + KEYWORDS, encoding="utf-8")
    code, out, err, seconds, rss = _run_measured(["-m", "study", "import", str(good), "--learner", "Alice",
                                                  "--db", str(db)])
    assert code == 0 and "imported 1 card" in out, (out, err)
    return db, (seconds, rss)


@pytest.mark.parametrize("kind", KINDS)
def test_cli_import_refuses_bomb(kind: str, cli_db: tuple[Path, tuple[float, int]], tmp_path: Path) -> None:
    db, (base_seconds, base_rss) = cli_db
    f = tmp_path / "bomb.yaml"
    f.write_bytes(bomb(kind))
    code, out, err, seconds, rss = _run_measured(["-m", "study", "import", str(f), "--learner", "Alice",
                                                  "--db", str(db)])
    assert code == 1, (kind, out, err)
    assert "Traceback" not in err and err.startswith("error: bomb.yaml: rejected: ")
    assert err.count("\n") == 1, err  # the reason on one line
    check_reason(kind, err)
    assert rss - base_rss < MAX_GROWTH, (kind, (rss - base_rss) / MB)
    # whole-process wall times on a shared machine vary by about a second either way: the bound
    # here catches the old 50-second expansions; the < 1 s figure is measured in-process above
    assert seconds - base_seconds < 5 * MAX_SECONDS, (kind, seconds, base_seconds)


# ---------------------------------------------------------------------------------------------
# bomb files dropped into the bank or the lessons folder

def _bank_with(tmp_path: Path, kind: str) -> Path:
    d = tmp_path / "bank"
    d.mkdir(exist_ok=True)
    shutil.copy(ROOT / "questions" / "rnn_background.yaml", d / "rnn_background.yaml")
    (d / "zz_bomb.yaml").write_bytes(bomb(kind))
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_bank_with_a_bomb_file_keeps_the_valid_cards(kind: str, tmp_path: Path) -> None:
    d = _bank_with(tmp_path, kind)
    clean = load_bank(ROOT / "questions")
    seconds, peak = measure(lambda: load_bank(d))
    bank = load_bank(d)
    bomb_problems = [p for p in bank.problems if p.file == "zz_bomb.yaml"]
    assert bomb_problems, bank.problems
    check_reason(kind, " ".join(str(p) for p in bomb_problems))
    rnn = [c.id for c in clean.cards if clean.origins[c.id].file == "rnn_background.yaml"]
    assert [c.id for c in bank.cards] == rnn  # the valid file's cards all load
    assert seconds < MAX_SECONDS + 1.0 and peak < MAX_GROWTH, (kind, seconds, peak / MB)


def test_validate_cli_reports_every_bomb_file(tmp_path: Path) -> None:
    d = tmp_path / "bank"
    d.mkdir()
    shutil.copy(ROOT / "questions" / "rnn_background.yaml", d / "rnn_background.yaml")
    code, out, err, base_seconds, base_rss = _run_measured(["-m", "questions", "validate", "--dir", str(d)])
    names = {}
    for i, kind in enumerate(KINDS):
        name = f"bomb{i:02d}.yaml"
        (d / name).write_bytes(bomb(kind))
        names[name] = kind
    code, out, err, seconds, rss = _run_measured(["-m", "questions", "validate", "--dir", str(d)])
    assert code == 1 and "Traceback" not in out + err, (out, err)
    for name, kind in names.items():
        lines = [x for x in out.splitlines() if x.startswith(name + ":")]
        assert lines, (name, out)
        check_reason(kind, " ".join(lines))
    assert not any(x.startswith("rnn_background.yaml:") and "related id" not in x for x in out.splitlines())
    assert rss - base_rss < MAX_GROWTH, (rss - base_rss) / MB
    assert seconds - base_seconds < MAX_SECONDS * 5, (seconds, base_seconds)  # all 14 bombs in one run


@pytest.mark.parametrize("kind", ["billion laughs (9x9 aliases, demo.params)", "deep nesting 600 [",
                                  "CR line endings, anchor on line 8", "many nodes 150k"])
def test_lessons_with_a_bomb_file(kind: str, tmp_path: Path) -> None:
    d = tmp_path / "lessons"
    d.mkdir()
    shutil.copy(ROOT / "lessons" / "positional-encoding.yaml", d / "positional-encoding.yaml")
    (d / "zz-bomb.yaml").write_bytes(bomb(kind).replace(b"- id: my-bomb", b"title: x"))
    known = set(load_bank(ROOT / "questions").by_id)  # the bank's own cost is not the bomb's
    seconds, peak = measure(lambda: load_lessons(d, known_cards=known))
    result = load_lessons(d, known_cards=known)
    assert list(result.lessons) == ["positional-encoding"]
    assert [p.file for p in result.problems] == ["zz-bomb.yaml"], result.problems
    assert peak < MAX_GROWTH and seconds < MAX_SECONDS + 1.0
    code, out, err, _, _ = _run_measured(["-m", "lessons", "validate", "--dir", str(d)])
    assert code == 1 and "Traceback" not in out + err and "zz-bomb.yaml:" in out, (out, err)


def test_pages_render_with_bomb_files_in_the_bank_and_lessons(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from tests.apptest import open_page

    bank = tmp_path / "bank"
    bank.mkdir()
    for f in (ROOT / "questions").glob("*.yaml"):
        shutil.copy(f, bank / f.name)
    (bank / "zz_bomb.yaml").write_bytes(bomb("billion laughs (9x9 aliases, demo.params)"))
    (bank / "zz_deep.yaml").write_bytes(bomb("deep nesting 600 ["))
    lessons = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", lessons, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (lessons / "zz-deep.yaml").write_bytes(b"title: " + b"[" * 600 + b"]" * 600 + b"\n")
    monkeypatch.setenv("TIL_QUESTIONS_DIR", str(bank))
    monkeypatch.setenv("TIL_LESSONS_DIR", str(lessons))
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    n_cards = len(load_bank(ROOT / "questions").cards)
    for page in ("bank", "flashcards", "lessons", "home"):
        open_page(page)  # asserts no exception, naming the page
    assert len(load_bank(bank).cards) == n_cards


# ---------------------------------------------------------------------------------------------

def _table() -> None:  # pragma: no cover - a report, run by hand
    ids = reserved()
    print(f"{'kind':<40} {'bytes':>9} {'import s':>9} {'import MB':>9} {'app-limits s':>12} {'MB':>6}")
    for kind in KINDS:
        data = bomb(kind)

        def imp(data: bytes = data) -> None:
            try:
                export.parse_import(data, reserved_ids=ids)
            except export.ImportRejected:
                pass

        def app(data: bytes = data) -> None:
            try:
                safe_yaml.load(data)
            except safe_yaml.YamlError:
                pass

        s1, m1 = measure(imp)
        s2, m2 = measure(app)
        print(f"{kind:<40} {len(data):>9,} {s1:>9.4f} {m1 / MB:>9.2f} {s2:>12.4f} {m2 / MB:>6.2f}")


if __name__ == "__main__":  # pragma: no cover
    _table()
