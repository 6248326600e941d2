"""bench.load against a fresh server: 2 real sessions for ~10 s, then check what it reports."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from bench import load
from tests.browser import ROOT, streamlit_server


@pytest.mark.parametrize("url", ["http://10.1.2.3:8501", "http://example.com", "ftp://127.0.0.1/x"])
def test_refuses_non_loopback(url):
    with pytest.raises(load.Refused):
        load.check_loopback(url)


def test_accepts_loopback():
    assert load.check_loopback("http://127.0.0.1:8501") == ("127.0.0.1", 8501)
    assert load.check_loopback("http://localhost:9000/")[1] == 9000


@pytest.mark.parametrize(("sessions", "seconds"), [(0, 10), (101, 10), (5, 0), (5, 901)])
def test_hard_caps(sessions, seconds):
    with pytest.raises(load.Refused):
        load.check_bounds(sessions, seconds)
    # the command line refuses the same (exit 2) before any connection
    assert load.main(["--url", "http://127.0.0.1:1", "--sessions", str(sessions), "--seconds", str(seconds)]) == 2


def test_load_tool_two_sessions(tmp_path):
    db = tmp_path / "progress.sqlite3"
    with streamlit_server(env={"TIL_DB": str(db)}) as base:
        # session 0 works a demo page, session 1 studies flashcards; a short think time
        proc = subprocess.run(
            [sys.executable, "-m", "bench.load", "--url", base, "--sessions", "2", "--seconds", "10",
             "--think", "0.5", "--ramp", "1", "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["errors"]["total"] == 0, r["errors"]
    assert r["sessions_ready"] == 2
    inter = r["interactions"]
    assert inter["count"] >= 10  # 2 sessions x ~9 s / (0.5 s think + run time)
    assert 0 < inter["p50_ms"] <= inter["p95_ms"] <= inter["p99_ms"] <= inter["max_ms"] < 30_000
    assert set(r["by_kind"]) >= {"first_load", "widget", "click"}
    # the study session rated cards, and the ratings reached the progress store
    assert r["ratings"] >= 1
    with sqlite3.connect(db) as con:
        n_reviews = con.execute("SELECT COUNT(*) FROM reviews").fetchone()[0]
        learners = [row[0] for row in con.execute("SELECT name FROM profiles")]
    assert n_reviews == r["ratings"]
    assert any(name.startswith("load-") for name in learners)
    # server memory came from the real server process (pid found from the port)
    mem = r["memory"]
    assert r["server_pids"][0] and 100 < mem["end_mb"] < 8000
    assert mem["samples"] and all(100 < mb < 8000 for _, mb in mem["samples"])
