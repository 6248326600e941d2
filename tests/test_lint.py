"""The tree is ruff-clean (config in pyproject.toml)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    if shutil.which("ruff") is None:
        pytest.skip("ruff is not installed (requirements-test.txt installs it)")
    out = subprocess.run(["ruff", "check", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]


def test_layers_stay_plain():
    """model/, figures/, demos/, study/, questions/ and i18n/ never import streamlit."""
    offenders = []
    for pkg in ("model", "figures", "demos", "study", "questions", "i18n"):
        for path in (ROOT / pkg).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "import streamlit" in text or "from streamlit" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
    assert sys.version_info >= (3, 11)
