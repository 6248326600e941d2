"""Tiny vocabularies for the demos.

Vocab      a fixed token list; specials <pad>=0, <bos>=1, <eos>=2, <unk>=3; unknown tokens -> <unk>.
HashVocab  a fixed-size vocabulary that accepts ANY token: known tokens keep their ids, every other
           token goes to a bucket chosen by a stable hash (blake2b, same in every process), so any
           typed sentence can be run through a randomly initialised model. The token strings are
           kept (tokenize() / encode_with_tokens()) for display; decode() returns the last string
           seen for an id.

tokenize(text): split on whitespace; a chunk that is in the vocabulary stays whole, otherwise runs
of CJK characters (Han, kana, CJK / full-width punctuation) are split into single characters and
the other runs stay whole: "我爱 NLP模型" -> ["我", "爱", "NLP", "模", "型"]. Empty input -> ValueError.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import torch

__all__ = ["Vocab", "HashVocab", "tokenize", "SPECIALS", "PAD", "BOS", "EOS", "UNK"]

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)

_CJK = (r"\u3000-\u303f"   # CJK symbols and punctuation
        r"\u3040-\u30ff"   # hiragana, katakana
        r"\u3400-\u4dbf"   # CJK extension A
        r"\u4e00-\u9fff"   # CJK unified ideographs
        r"\uf900-\ufaff"   # compatibility ideographs
        r"\uff00-\uffef")  # full-width forms (，！？ etc.)
_PIECES = re.compile(f"[{_CJK}]|[^{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")


def tokenize(text: str, vocab: Vocab | None = None) -> list[str]:
    """Whitespace split, then CJK runs into single characters (unless the chunk is in vocab)."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    out: list[str] = []
    for chunk in text.split():
        if vocab is not None and chunk in vocab:
            out.append(chunk)
        else:
            out.extend(_PIECES.findall(chunk))
    if not out:
        raise ValueError("empty input: type at least one token")
    return out


class Vocab:
    """tokens list with the specials first: <pad>=0, <bos>=1, <eos>=2, <unk>=3."""

    def __init__(self, tokens: Iterable[str] = ()):
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        for t in tokens:
            if t not in self.stoi:
                self.stoi[t] = len(self.itos)
                self.itos.append(t)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocab:
        """Build from a corpus, tokens in order of first appearance."""
        toks: list[str] = []
        for text in texts:
            toks.extend(tokenize(text))
        return cls(toks)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    @property
    def tokens(self) -> list[str]:
        return list(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self)

    def token_to_id(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def id_to_token(self, i: int) -> str:
        return self.itos[i] if 0 <= i < len(self.itos) else UNK

    def encode(self, text: str | Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """A string (tokenized first) or a token list -> ids."""
        return self.encode_with_tokens(text, add_bos, add_eos)[1]

    def encode_with_tokens(self, text: str | Sequence[str], add_bos: bool = False,
                           add_eos: bool = False) -> tuple[list[str], list[int]]:
        """-> (token strings incl. <bos>/<eos> when added, ids), for labelling plots."""
        toks = self.tokenize(text) if isinstance(text, str) else list(text)
        if not toks:
            raise ValueError("empty input: type at least one token")
        toks = ([BOS] if add_bos else []) + toks + ([EOS] if add_eos else [])
        return toks, [self.token_to_id(t) for t in toks]

    def to_tensor(self, text: str | Sequence[str], add_bos: bool = False,
                  add_eos: bool = False) -> tuple[list[str], torch.Tensor]:
        """-> (token strings, LongTensor (1, T)) ready for Transformer.forward."""
        toks, ids = self.encode_with_tokens(text, add_bos, add_eos)
        return toks, torch.tensor([ids], dtype=torch.long)

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> list[str]:
        """ids -> token strings (specials dropped when skip_special)."""
        out = []
        for i in ids:
            i = int(i)
            if skip_special and i < len(SPECIALS):
                continue
            out.append(self.id_to_token(i))
        return out

    def decode_text(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Joined with spaces, except between two CJK characters."""
        text = ""
        for t in self.decode(ids, skip_special):
            if not text:
                text = t
            elif _IS_CJK.match(t) and _IS_CJK.match(text[-1]):
                text += t
            else:
                text += " " + t
        return text


def _stable_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class HashVocab(Vocab):
    """Fixed-size vocabulary accepting any token. ids [0, len(known)) are the specials and the
    given tokens; any other token maps to len(known) + hash(token) % (size - len(known)).
    Deterministic across processes (blake2b, not Python's salted hash())."""

    def __init__(self, size: int = 1000, tokens: Iterable[str] = ()):
        super().__init__(tokens)
        if size <= len(self.itos):
            raise ValueError(f"size={size} must exceed the {len(self.itos)} fixed tokens")
        self.size = size
        self.n_fixed = len(self.itos)
        self.seen: dict[int, str] = {}      # hashed id -> last token string mapped there

    def __len__(self) -> int:
        return self.size

    def __contains__(self, token: str) -> bool:       # every token has an id, but only the
        return token in self.stoi                     # listed ones are "words" for tokenize()

    def token_to_id(self, token: str) -> int:
        i = self.stoi.get(token)
        if i is None:
            i = self.n_fixed + _stable_hash(token) % (self.size - self.n_fixed)
            self.seen[i] = token
        return i

    def id_to_token(self, i: int) -> str:
        if 0 <= i < self.n_fixed:
            return self.itos[i]
        return self.seen.get(i, f"<{i}>")
