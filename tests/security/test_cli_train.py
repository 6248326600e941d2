"""`python -m model.train` (issue 15, item 6): shipped checkpoints are replaced only with --force,
bad numbers are argparse errors (exit 2, no traceback), --out naming a folder is refused before
training and leaves no .pt.tmp behind."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model import checkpoint
from model.train import main

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_shipped_checkpoint_is_not_replaced_without_force(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = checkpoint.CHECKPOINT_DIR / "copy.pt"
    before = digest(shipped)
    err = refused(["--task", "copy", "--steps", "1"], capsys)
    assert "copy.pt is a shipped checkpoint; pass --force" in err
    assert digest(shipped) == before
    assert not list(checkpoint.CHECKPOINT_DIR.glob("*.tmp"))


def test_force_replaces_and_other_paths_are_free(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """With a stand-in checkpoint folder: refused without --force, replaced with it; a fresh
    --out file needs no --force."""
    shipped_dir = tmp_path / "checkpoints"
    shipped_dir.mkdir()
    fake = shipped_dir / "copy.pt"
    fake.write_bytes(b"the shipped model")
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", shipped_dir)
    refused(["--task", "copy", "--steps", "1", "--eval-n", "1"], capsys)
    assert fake.read_bytes() == b"the shipped model"
    code = main(["--task", "copy", "--steps", "1", "--eval-n", "1", "--force"])
    assert code == 1  # one step is far from 99 %: the exit code says so
    assert fake.read_bytes() != b"the shipped model" and checkpoint.load_checkpoint("copy", fake)
    out = tmp_path / "mine" / "copy-1-step.pt"
    assert main(["--task", "copy", "--steps", "1", "--eval-n", "1", "--out", str(out)]) == 1
    assert out.is_file() and not list(tmp_path.rglob("*.tmp"))
    assert main(["--task", "copy", "--steps", "1", "--eval-n", "1", "--no-save"]) == 1


@pytest.mark.parametrize("argv, words", [
    (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
    (["--threads", "-3"], "argument --threads: must be at least 1, got -3"),
    (["--eval-n", "0"], "argument --eval-n: must be at least 1, got 0"),
    (["--eval-n", "-5"], "argument --eval-n: must be at least 1, got -5"),
    (["--steps", "0"], "argument --steps: must be at least 1"),
    (["--threads", "two"], "expected a whole number, got 'two'"),
    (["--steps", "1.5"], "expected a whole number"),
])
def test_bad_numbers_are_argparse_errors(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["--task", "copy", "--no-save", *argv], capsys)
    assert words in err


def test_out_naming_a_folder_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(["--task", "copy", "--steps", "1", "--out", str(tmp_path)], capsys)
    assert f"--out {tmp_path} is a folder" in err and "copy.pt" in err
    assert list(tmp_path.iterdir()) == [] and not list(checkpoint.CHECKPOINT_DIR.glob("*.tmp"))
    folder_pt = tmp_path / "x.pt"
    folder_pt.mkdir()
    err = refused(["--task", "copy", "--steps", "1", "--out", str(folder_pt)], capsys)
    assert "is a folder" in err and list(folder_pt.iterdir()) == []


@pytest.mark.parametrize("args", [["--threads", "0"], ["--eval-n", "-5"], ["--steps", "1"]])
def test_real_process_exits_2_without_traceback(args: list[str]) -> None:
    res = subprocess.run([sys.executable, "-m", "model.train", "--task", "copy", *args], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "error:" in res.stderr, res.stderr
