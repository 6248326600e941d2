"""Shared test fixtures."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are reproducible in CI: a fixed, derandomized search (a random red CI is a
# defect). Locally they explore fresh examples; `HYPOTHESIS_PROFILE=fuzz` runs a longer search.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=2000, deadline=None)
settings.register_profile("dev")
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SEEDS = ROOT.parent / "shared" / "seeds"
ARTIFACTS = ROOT / "artifacts"

# Tests never touch the user's progress file.
os.environ.setdefault("TIL_DB", str(ARTIFACTS / "test-progress.sqlite3"))


def pytest_collection_modifyitems(config, items):
    """Markers that `scripts/test.sh --quick` deselects: tests that need PostgreSQL (they use the
    pg fixtures), real-browser tests (any test_browser_* file), page tests (`app`) and tests
    that start processes (`process`) are marked here, so a new test cannot forget its marker."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if ({"pg_server", "pg_url"} & set(getattr(item, "fixturenames", ()))
                or (callspec is not None and callspec.params.get("store_target") == "postgres")):
            item.add_marker(pytest.mark.postgres)
        if Path(str(item.fspath)).name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        kinds = _module_kinds(Path(str(item.fspath)))
        if "app" in kinds:
            item.add_marker(pytest.mark.app)
        if "process" in kinds:
            item.add_marker(pytest.mark.process)


_KINDS: dict[Path, frozenset[str]] = {}


def _module_kinds(path: Path) -> frozenset[str]:
    """What a test module's tests may do, from its text: run the app's pages (`app`: AppTest, via
    tests.apptest or not) or start processes (`process`: the CLIs, servers, the drills sandbox)."""
    if path not in _KINDS:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        kinds = set()
        if "open_page" in text or "AppTest" in text:
            kinds.add("app")
        if any(w in text for w in ("subprocess", "sys.executable", "streamlit_server", "sandbox")):
            kinds.add("process")
        _KINDS[path] = frozenset(kinds)
    return _KINDS[path]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seed notes not found at {SEEDS}")
    return SEEDS


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# -- a real PostgreSQL server (tests/pgserver.py), and the store contract over both backends -------

@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server per test process, stopped and removed at the end. Fails
    (never skips) when the server binaries are missing: CI installs them (scripts/test.sh)."""
    from tests.pgserver import start_server

    try:
        server, why = start_server(), None
    except RuntimeError as exc:
        server, why = None, str(exc)
    if server is None:
        pytest.fail(why, pytrace=False)
    yield server
    server.remove()


@pytest.fixture()
def pg_url(pg_server):
    """The URL of a fresh, empty database on the test server (dropped afterwards)."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh progress store lives: an SQLite file, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "p.sqlite3")
    return request.getfixturevalue("pg_url")


@pytest.fixture()
def store(store_target: str):
    """A fresh progress store of each backend (study.stores.open_store), closed afterwards."""
    from study.stores import open_store

    s = open_store(store_target)
    yield s
    s.close()
