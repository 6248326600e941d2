"""Data for the character-level decoder LM: the question bank's own questions and answers in
both languages, a character tokenizer, and held-out perplexity.

    train_text, val_text = corpus()                 # split by card (1 card in 10 held out)
    tok = CharTokenizer.from_text(train_text)       # chars seen >= 2 times; others -> <unk>
    ids = tok.encode("Q: What is RoPE?\\nA:")         # list[int]
    tok.decode(ids)                                 # str
    perplexity(model, tok, val_text, ctx_len=128)   # exp(mean cross-entropy per character)

Every card gives two documents, "Q: {question}\\nA: {answer}\\n\\n" in English and in Chinese
(Markdown and LaTeX kept as written). A card is held out when blake2b(card id) % 10 == 0, so
the split is stable while the bank grows.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F

__all__ = ["CharTokenizer", "UNK", "card_documents", "is_heldout", "corpus", "perplexity",
           "random_windows"]

CORPUS_FILE = Path(__file__).resolve().parent / "data" / "lm_corpus.json"
UNK = "\ufffd"          # id 0: a character the tokenizer never saw in training


class CharTokenizer:
    """itos[0] = UNK (U+FFFD); every other id is one character."""

    def __init__(self, itos: Iterable[str]):
        self.itos: list[str] = list(itos)
        if not self.itos or self.itos[0] != UNK:
            raise ValueError("itos must start with the UNK character U+FFFD")
        if any(len(c) != 1 for c in self.itos):
            raise ValueError("every token must be one character")
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}
        self.unk_id = 0

    @classmethod
    def from_text(cls, text: str, min_count: int = 2) -> CharTokenizer:
        """Characters appearing >= min_count times, most frequent first (ties: code point)."""
        counts = Counter(text)
        chars = sorted((c for c, n in counts.items() if n >= min_count and c != UNK),
                       key=lambda c: (-counts[c], c))
        return cls([UNK, *chars])

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(c, 0) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        n = len(self.itos)
        return "".join(self.itos[i] if 0 <= i < n else UNK for i in map(int, ids))


def card_documents(card) -> list[str]:
    """One card -> [English document, Chinese document]."""
    return [f"Q: {card.question.en}\nA: {card.answer.en}\n\n",
            f"Q: {card.question.zh}\nA: {card.answer.zh}\n\n"]


def is_heldout(card_id: str) -> bool:
    return int.from_bytes(hashlib.blake2b(card_id.encode(), digest_size=4).digest(), "little") % 10 == 0


def corpus(bank=None, seed: int = 0) -> tuple[str, str]:
    """(train text, held-out text) from `bank` (anything with .cards), or by default from the
    corpus snapshot shipped beside the checkpoints (model/data/lm_corpus.json, written from the
    question bank by `python scripts/lm_corpus.py`): the model package reads data, it does not
    import the bank. Documents of the training cards are shuffled (seeded); the held-out ones are
    in bank order."""
    if bank is None:
        records = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
        docs = [(r["id"], [r["en"], r["zh"]]) for r in records]
    else:
        docs = [(card.id, card_documents(card)) for card in bank.cards]
    train_docs, val_docs = [], []
    for card_id, pair in docs:
        (val_docs if is_heldout(card_id) else train_docs).extend(pair)
    random.Random(seed).shuffle(train_docs)
    return "".join(train_docs), "".join(val_docs)


def random_windows(data: torch.Tensor, batch: int, length: int, gen: torch.Generator):
    """Random crops of a 1-D id tensor -> (x (B, length), y (B, length)) with y = x shifted by one."""
    ix = torch.randint(0, data.numel() - length - 1, (batch,), generator=gen)
    offs = torch.arange(length + 1)
    rows = data[ix[:, None] + offs[None, :]]                      # (B, length + 1)
    return rows[:, :-1], rows[:, 1:]


@torch.no_grad()
def perplexity(model, tok: CharTokenizer, text: str, ctx_len: int, batch: int = 16,
               max_windows: int | None = None) -> float:
    """Per-character perplexity exp(mean CE) of `text`, cut into consecutive windows of ctx_len + 1
    characters (overlapping by one, so every character after the first is predicted once, with
    between 0 and ctx_len - 1 characters of context). max_windows: only the first N windows."""
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    n = (ids.numel() - 1) // ctx_len
    if max_windows is not None:
        n = min(n, max_windows)
    if n < 1:
        raise ValueError(f"text of {ids.numel()} characters is shorter than ctx_len + 1 = {ctx_len + 1}")
    starts = torch.arange(n) * ctx_len
    rows = ids[starts[:, None] + torch.arange(ctx_len + 1)[None, :]]        # (n, ctx_len + 1)
    was = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, n, batch):
        x, y = rows[i: i + batch, :-1], rows[i: i + batch, 1:]
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was)
    return math.exp(total / count)
