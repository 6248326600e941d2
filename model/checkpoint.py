"""Save and load trained toy models (model/checkpoints/<task>.pt, and variants such as
reverse-learned-pe.pt: model.train.CHECKPOINTS lists every shipped file stem and its task).

    from model.checkpoint import load_checkpoint, trained_translation, CheckpointError
    model, (src_vocab, tgt_vocab), meta = load_checkpoint("translate")   # eval mode
    model, src_vocab, tgt_vocab = trained_translation()                  # the zh -> en model

A checkpoint is a plain dict loadable with torch.load(..., weights_only=True):
    {"format": 1, "state_dict": {...}, "config": TransformerConfig fields (dict),
     "src_tokens": [...], "tgt_tokens": [...], "meta": {task, train_config, steps,
     train_seconds, val_exact_match, heldout_exact_match, heldout_n, ...}}
A missing, unreadable or inconsistent file raises CheckpointError (message says what and where,
and how to train one: `python -m model.train --task NAME`).

Decoder-only character LMs (model/decoder.py; lm.pt and its variants, model.lm_train.LM_VARIANTS):
    from model.checkpoint import load_lm
    lm, tok = load_lm("lm")                     # (DecoderLM in eval mode, CharTokenizer), cached
    lm_bad, tok = load_lm("lm", bug="no_scale") # the same weights in a model with one injected bug
    meta = lm_meta("lm")                        # train config, steps, seconds, held-out perplexity
    {"format": "decoder-lm-1", "state_dict": {...}, "config": DecoderConfig fields,
     "itos": [...characters], "meta": {...}}
"""
from __future__ import annotations

import functools
from dataclasses import asdict, fields
from pathlib import Path

import torch

from model.decoder import DecoderConfig, DecoderLM
from model.lm_data import CharTokenizer
from model.transformer import Transformer, TransformerConfig
from model.vocab import Vocab

__all__ = ["CheckpointError", "CHECKPOINT_DIR", "checkpoint_path", "save_checkpoint", "load_checkpoint",
           "trained_translation", "available", "save_lm", "load_lm", "lm_meta", "LM_FORMAT"]

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing or cannot be used. .task and .path say which; str() is for the UI."""

    def __init__(self, task: str, path: Path, reason: str):
        self.task, self.path, self.reason = task, path, reason
        super().__init__(f"checkpoint for task {task!r} at {path}: {reason}. "
                         f"Train one with: python -m model.train --task {task}")


def checkpoint_path(task_or_path: str | Path) -> Path:
    p = Path(task_or_path)
    if p.suffix == ".pt" or p.parent != Path("."):
        return p
    return CHECKPOINT_DIR / f"{task_or_path}.pt"


def save_checkpoint(model: Transformer, src_vocab: Vocab, tgt_vocab: Vocab, meta: dict,
                    task_or_path: str | Path) -> Path:
    path = checkpoint_path(task_or_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "config": asdict(model.cfg),
        "src_tokens": list(src_vocab.itos),
        "tgt_tokens": list(tgt_vocab.itos),
        "meta": meta,
    }
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    _load_cached.cache_clear()
    return path


def _vocab(tokens: list[str]) -> Vocab:
    v = Vocab(tokens)
    if v.itos != list(tokens):
        raise ValueError("vocabulary does not start with the special tokens")
    return v


def _load(task: str, path: Path) -> tuple[Transformer, tuple[Vocab, Vocab], dict]:
    if not path.is_file():
        raise CheckpointError(task, path, "file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling / zip error means a bad file
        raise CheckpointError(task, path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    try:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"unknown format {payload.get('format') if isinstance(payload, dict) else type(payload)}")
        names = {f.name for f in fields(TransformerConfig)}
        cfg = TransformerConfig(**{k: v for k, v in payload["config"].items() if k in names})
        sv, tv = _vocab(payload["src_tokens"]), _vocab(payload["tgt_tokens"])
        if (len(sv), len(tv)) != (cfg.src_vocab_size, cfg.tgt_vocab_size):
            raise ValueError("vocabulary sizes do not match the model config")
        model = Transformer(cfg)
        model.load_state_dict(payload["state_dict"])
        model.eval()
        meta = dict(payload.get("meta") or {})
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(task, path, f"is inconsistent ({type(exc).__name__}: {exc})") from exc
    return model, (sv, tv), meta


@functools.lru_cache(maxsize=8)
def _load_cached(task: str, path: str, mtime: float):
    return _load(task, Path(path))


def load_checkpoint(task: str, path: str | Path | None = None, *, cached: bool = True):
    """-> (model in eval mode, (src_vocab, tgt_vocab), meta). Raises CheckpointError.

    cached=True shares one model object per file (and file version) in this process: do not
    train or modify it; pass cached=False for a private copy."""
    p = Path(path) if path is not None else checkpoint_path(task)
    if not cached:
        return _load(task, p)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise CheckpointError(task, p, "file not found") from None
    return _load_cached(task, str(p), mtime)


def trained_translation() -> tuple[Transformer, Vocab, Vocab]:
    """The shipped zh -> en model: (model in eval mode, src_vocab, tgt_vocab). Raises CheckpointError."""
    model, (sv, tv), _ = load_checkpoint("translate")
    return model, sv, tv


def available() -> dict[str, dict]:
    """{task: meta} of every checkpoint in CHECKPOINT_DIR that loads."""
    out = {}
    for p in sorted(CHECKPOINT_DIR.glob("*.pt")):
        try:
            out[p.stem] = load_checkpoint(p.stem)[2]
        except CheckpointError:
            continue
    return out


# ---------------------------------------------------------------------------------------------
# Decoder-only LMs

LM_FORMAT = "decoder-lm-1"


def save_lm(model: DecoderLM, tok: CharTokenizer, meta: dict, name_or_path: str | Path) -> Path:
    path = checkpoint_path(name_or_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = asdict(model.cfg)
    cfg["bug"] = None
    state = {k: v.detach().clone() for k, v in model.state_dict().items()
             if not (model.cfg.tie_embeddings and k == "lm_head.weight")}
    payload = {"format": LM_FORMAT, "state_dict": state, "config": cfg, "itos": list(tok.itos), "meta": meta}
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    _load_lm_cached.cache_clear()
    return path


def _load_lm(name: str, path: Path, bug: str | None) -> tuple[DecoderLM, CharTokenizer, dict]:
    if not path.is_file():
        raise CheckpointError(name, path, "file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling / zip error means a bad file
        raise CheckpointError(name, path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    try:
        if not isinstance(payload, dict) or payload.get("format") != LM_FORMAT:
            raise ValueError("not a decoder LM checkpoint")
        names = {f.name for f in fields(DecoderConfig)}
        cfg = DecoderConfig(**{**{k: v for k, v in payload["config"].items() if k in names}, "bug": bug})
        tok = CharTokenizer(payload["itos"])
        if len(tok) != cfg.vocab_size:
            raise ValueError("vocabulary size does not match the model config")
        model = DecoderLM(cfg)
        state = dict(payload["state_dict"])
        if cfg.tie_embeddings:
            state["lm_head.weight"] = state["tok_emb.weight"]
        model.load_state_dict(state)
        model.eval()
        meta = dict(payload.get("meta") or {})
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(name, path, f"is inconsistent ({type(exc).__name__}: {exc})") from exc
    return model, tok, meta


@functools.lru_cache(maxsize=16)
def _load_lm_cached(name: str, path: str, mtime: float, bug: str | None):
    return _load_lm(name, Path(path), bug)


def _lm_entry(name: str, bug: str | None, cached: bool):
    p = checkpoint_path(name)
    if not cached:
        return _load_lm(name, p, bug)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise CheckpointError(name, p, "file not found") from None
    return _load_lm_cached(name, str(p), mtime, bug)


def load_lm(name: str = "lm", bug: str | None = None, *, cached: bool = True) -> tuple[DecoderLM, CharTokenizer]:
    """-> (DecoderLM in eval mode, CharTokenizer). bug: one of model.decoder.BUGS to inject into the
    same weights. cached=True shares one object per (file version, bug): do not modify it.
    Raises CheckpointError (missing / unreadable / inconsistent file; unknown bug)."""
    model, tok, _ = _lm_entry(name, bug, cached)
    return model, tok


def lm_meta(name: str = "lm") -> dict:
    """The training record stored with a decoder LM checkpoint (copy)."""
    return dict(_lm_entry(name, None, True)[2])
