"""The demo pages' string files: every key has exactly zh and en, both non-empty."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

I18N = Path(__file__).resolve().parents[1] / "i18n"
FILES = ["demo_pe", "demo_norms", "demo_ffn", "demo_training", "demo_tok"]


@pytest.mark.parametrize("name", FILES)
def test_demo_strings_complete(name: str) -> None:
    path = I18N / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in data.items():
        assert isinstance(value, dict) and set(value) == {"zh", "en"}, key   # catches unquoted commas
        assert all(isinstance(v, str) and v.strip() for v in value.values()), key
