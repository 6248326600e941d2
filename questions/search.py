"""Search the question bank: the one function the app, the CLI and the tests use.

    search(bank, query, lang=None, top=10, *, min_ratio=0.0) -> list[Hit]

`bank` is a `questions.bank.Bank` (any object with `.cards`), or an `Index` (the CLI loads one
from the disk cache without parsing YAML; its hits carry `card=None`).

How it ranks:

* Text is normalised with NFKC + casefold (full-width ＬａｙｅｒＮｏｒｍ == layernorm), a little
  LaTeX clean-up (`\\sqrt{d_k}` -> `sqrt dk`) and British -ise spellings folded to -ize.
* Interview filler (questions/stopphrases.txt: 介绍一下, 聊聊你对…的看法, "can you explain"...) is
  removed from queries and cards alike; generic asks (为什么, 作用, 缺点, "purpose"...) are kept
  but weigh little in a query, so the topic decides.
* Terms: Chinese runs are segmented with jieba (`rjieba`, search mode, no HMM), English words
  are Snowball-stemmed (PyStemmer); function words are dropped.
* Synonym groups (questions/synonyms.yaml): every phrase of a group found in a text adds the
  group's concept term, on the card side and on the query side, so "LN", "LayerNorm",
  "层归一化" and "layer normalization" all match (query expansion through shared concepts).
* Typos: a query word missing from the vocabulary is replaced by its closest vocabulary words
  (rapidfuzz, similarity >= 75), weighted by similarity.
* Score: BM25 (built with `bm25s`, one index per field) summed with field weights (question and
  aliases 2, keywords and answer 1), plus a bonus for a query close to a whole question or alias.

The index is built once per Bank (kept on it) and stored on disk as JSON (plain data, no pickle)
under the user cache dir, keyed by the cards' content; the CLI looks it up by the card files'
names, sizes and mtimes, so `python -m questions search` needs no YAML, pydantic or bm25s.

Both languages of every card are indexed, whatever `lang` is; `lang` only picks the language of
the question returned in each hit (default: Chinese when the query contains Chinese).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import Stemmer
from rapidfuzz import fuzz, process

if TYPE_CHECKING:
    from questions.schema import Card

INDEX_VERSION = 3         # bump when analysis or scoring changes (invalidates the disk cache)
MAX_QUERY = 500           # characters of a query considered (longer input is cut)
FIELD_WEIGHTS = {"question": 2.0, "aliases": 2.0, "keywords": 1.0, "answer": 1.0}
K1, B = 1.2, 0.75
FUZZY_BONUS = 8.0         # max bonus for a query that nearly equals a question/alias
TYPO_CUTOFF = 75          # rapidfuzz similarity (0..100) for a typo correction
HERE = Path(__file__).resolve().parent
SYNONYMS_FILE = HERE / "synonyms.yaml"
STOP_FILE = HERE / "stopphrases.txt"
CACHE_ENV = "TIL_CACHE_DIR"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(f"[{_CJK}]+|[a-z0-9]+")
_LATEX_CMD = re.compile(r"\\([a-z]+)")
_SUBSCRIPT = re.compile(r"([a-z0-9])_\{?([a-z0-9]+)\}?")
_BRITISH = re.compile(r"(?<=[a-z])is(ation|ations|e|ed|es|ing|er|ers)\b")
_STEMMER = Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    question: str
    card: Card | None = None   # None when searching a bare Index (the CLI)

    def as_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 4), "question": self.question}


# ---------------------------------------------------------------------------------------------
# text -> terms

def normalize(text: str) -> str:
    """NFKC + casefold, LaTeX commands and subscripts flattened (d_k -> dk, \\sqrt -> sqrt)."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = _LATEX_CMD.sub(r" \1 ", text)
    text = _SUBSCRIPT.sub(r"\1\2", text)
    return _BRITISH.sub(r"iz\1", text)


@functools.cache
def _stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    return _STEMMER.stemWord(word)


@functools.cache
def _segmenter():
    import rjieba  # loads jieba's dictionary (~0.1 s): only when a text has Chinese

    return rjieba


def _cut(run: str) -> list[str]:
    return _segmenter().cut_for_search(run, False)


@dataclass(frozen=True)
class StopList:
    """Interview filler to drop (`remove`), generic asks to weigh little (`light`), function words."""

    remove: tuple[str, ...] = ()      # normalised phrases, longest first
    light: frozenset[str] = frozenset()   # terms (jieba words, stemmed English words)
    stop: frozenset[str] = frozenset()    # terms dropped everywhere
    light_weight: float = 0.5

    def cut(self, norm: str) -> str:
        """`norm` with the filler phrases cut out (ASCII phrases only as whole words)."""
        for p in self.remove:
            if _HAS_CJK.search(p):
                norm = norm.replace(p, " ")
            elif p in norm:
                norm = re.sub(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", " ", norm)
        return norm

    def to_data(self) -> dict:
        return {"remove": list(self.remove), "light": sorted(self.light), "stop": sorted(self.stop),
                "light_weight": self.light_weight}

    @classmethod
    def from_data(cls, d: dict) -> StopList:
        return cls(tuple(d["remove"]), frozenset(d["light"]), frozenset(d["stop"]), float(d["light_weight"]))


def parse_stoplist(text: str) -> StopList:
    """Sections `[remove]`, `[light]` and `[stop]`, one phrase a line, `#` comments."""
    sections: dict[str, list[str]] = {"remove": [], "light": [], "stop": []}
    current = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            if current not in sections:
                raise ValueError(f"unknown section {line}")
            continue
        if current is None:
            raise ValueError(f"phrase outside a section: {line!r}")
        sections[current].append(normalize(line).strip())
    remove = tuple(sorted({p for p in sections["remove"] if p}, key=lambda p: (-len(p), p)))

    def term_set(words: list[str]) -> frozenset[str]:
        return frozenset(_stem(w) if _WORD.fullmatch(w) else w for w in words if w)

    return StopList(remove, term_set(sections["light"]), term_set(sections["stop"]))


@functools.cache
def stoplist(path: str = str(STOP_FILE)) -> StopList:
    p = Path(path)
    return parse_stoplist(p.read_text(encoding="utf-8")) if p.is_file() else StopList()


def terms(norm: str, stop: StopList | None = None) -> list[str]:
    """Index terms of a normalised text: jieba words of Chinese runs, stemmed English words."""
    out: list[str] = []
    for tok in _TOKEN.findall(norm):
        if _HAS_CJK.match(tok):
            out.extend(w for w in _cut(tok) if w.strip())
        else:
            out.append(_stem(tok))
    if stop is not None:
        out = [t for t in out if t not in stop.stop]
    return out


class Synonyms:
    """Concept detection: which synonym groups a normalised text mentions (and how often).

    Phrases with Chinese characters are counted as substrings; ASCII phrases are matched as
    whole word sequences ("self-attention" == "self attention"), so "ln" never fires inside
    "learning".
    """

    MAX_WORDS = 5

    def __init__(self, groups: list[list[str]]) -> None:
        self.groups = [[normalize(p).strip() for p in g if str(p).strip()] for g in groups]
        self.groups = [g for g in self.groups if g]
        self._cjk: list[tuple[str, int]] = []                 # (phrase, group)
        self._words: dict[tuple[str, ...], set[int]] = {}     # word sequence -> groups
        for gi, g in enumerate(self.groups):
            for phrase in set(g):
                if _HAS_CJK.search(phrase):
                    self._cjk.append((phrase, gi))
                else:
                    seq = tuple(_WORD.findall(phrase))
                    if 0 < len(seq) <= self.MAX_WORDS:
                        self._words.setdefault(seq, set()).add(gi)
        self._cjk.sort(key=lambda x: -len(x[0]))

    def concepts(self, norm: str) -> list[str]:
        counts: Counter = Counter()
        if _HAS_CJK.search(norm):
            best: dict[int, int] = {}
            for phrase, gi in self._cjk:   # a phrase inside a longer one of its group counts once
                n = norm.count(phrase)
                if n > best.get(gi, 0):
                    best[gi] = n
            counts.update(best)
        words = _WORD.findall(norm)
        for i in range(len(words)):
            for n in range(1, min(self.MAX_WORDS, len(words) - i) + 1):
                for gi in self._words.get(tuple(words[i:i + n]), ()):
                    counts[gi] += 1
        return [f"§{gi}" for gi, n in counts.items() for _ in range(n)]

    def name(self, concept: str) -> str:
        return self.groups[int(concept[1:])][0]


def load_synonym_groups(path: str | Path = SYNONYMS_FILE) -> list[list[str]]:
    from questions import safe_yaml

    data = safe_yaml.load_file(path) or {}
    return [list(map(str, g)) for g in data.get("groups", [])]


@functools.cache
def synonyms(path: str = str(SYNONYMS_FILE)) -> Synonyms:
    return Synonyms(load_synonym_groups(path))


def analyze(text: str, syn: Synonyms | None = None, stop: StopList | None = None) -> list[str]:
    """Terms + concept terms of a text, with filler removed (the same on cards and queries)."""
    stop = stoplist() if stop is None else stop
    norm = stop.cut(normalize(text))
    return terms(norm, stop) + (syn or synonyms()).concepts(norm)


# ---------------------------------------------------------------------------------------------
# the index

def _field_texts(card: Card) -> dict[str, str]:
    kw = [p for lang in ("zh", "en") for g in card.keywords.get(lang) for p in g]
    return {
        "question": f"{card.question.zh}\n{card.question.en}",
        "aliases": "\n".join(card.aliases.zh + card.aliases.en),
        "keywords": "\n".join(kw),
        "answer": f"{card.answer.zh}\n{card.answer.en}",
    }


def _compact(norm: str) -> str:
    """A normalised text without spaces or punctuation, for whole-question fuzzy comparison."""
    return "".join(_TOKEN.findall(norm))


class _Postings(dict):
    """term -> {card: weight}, decoded from the cache's compact strings on first use of a term."""

    def __init__(self, raw: dict[str, str]) -> None:
        super().__init__()
        self.raw = raw

    def __contains__(self, term: object) -> bool:
        return dict.__contains__(self, term) or term in self.raw

    def get(self, term: str, default=None):
        row = dict.get(self, term)
        if row is None:
            enc = self.raw.get(term)
            if enc is None:
                return default
            row = {int(d): float(v) for d, v in (p.split(":") for p in enc.split())}
            self[term] = row
        return row

    def items(self):
        return ((t, self.get(t)) for t in self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def _bm25_postings(docs: list[list[str]]) -> dict[str, dict[int, float]]:
    """term -> {doc: BM25 weight} for one field, computed by bm25s (its eager score matrix)."""
    if not any(docs):
        return {}
    import bm25s

    retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
    retriever.index([d or [""] for d in docs], show_progress=False)
    data, indices, indptr = (retriever.scores[k].tolist() for k in ("data", "indices", "indptr"))
    out: dict[str, dict[int, float]] = {}
    for term, col in retriever.vocab_dict.items():
        if term:
            lo, hi = indptr[col], indptr[col + 1]
            out[term] = {indices[j]: data[j] for j in range(lo, hi) if data[j] > 0}
    return out


class Index:
    """Everything a search needs, as plain data (JSON-serialisable): no Card objects."""

    def __init__(self, cards: list[Card] | None = None, syn: Synonyms | None = None,
                 stop: StopList | None = None) -> None:
        self.syn = syn or synonyms()
        self.stop = stoplist() if stop is None else stop
        self.source: list | None = None  # the card list it was built from (identity check)
        self.ids: list[str] = []
        self.questions: dict[str, list[str]] = {"zh": [], "en": []}
        self.post: dict[str, dict[int, float]] = {}
        self.phrases: list[str] = []          # compact questions/aliases, for the fuzzy bonus
        self.phrase_card: list[int] = []
        self.words: dict[str, str] = {}       # surface English word -> its term (typo targets)
        if cards is not None:
            self._build(list(cards))

    def _build(self, cards: list[Card]) -> None:
        self.ids = [c.id for c in cards]
        self.questions = {lang: [c.question.get(lang) for c in cards] for lang in ("zh", "en")}
        per_field: dict[str, list[list[str]]] = {f: [] for f in FIELD_WEIGHTS}
        words: set[str] = set()
        for i, card in enumerate(cards):
            for f, text in _field_texts(card).items():
                per_field[f].append(analyze(text, self.syn, self.stop))
                words.update(w for w in _WORD.findall(normalize(text)) if len(w) >= 3 and w.isalpha())
            for p in [card.question.zh, card.question.en, *card.aliases.zh, *card.aliases.en]:
                self.phrases.append(_compact(self.stop.cut(normalize(p))))
                self.phrase_card.append(i)
        for f, fw in FIELD_WEIGHTS.items():
            for term, row in _bm25_postings(per_field[f]).items():
                acc = self.post.setdefault(term, {})
                for d, v in row.items():
                    acc[d] = acc.get(d, 0.0) + fw * v
        for row in self.post.values():   # 5 significant digits, as in the disk cache
            for d, v in row.items():
                row[d] = float(f"{v:.5g}")
        self.words = {w: _stem(w) for w in sorted(words) if _stem(w) in self.post}
        self._vocab = list(self.words)

    # -- plain data, for the disk cache -------------------------------------------------------
    def to_data(self) -> dict:
        return {"version": INDEX_VERSION, "ids": self.ids, "questions": self.questions,
                "post": {t: " ".join(f"{d}:{v:.5g}" for d, v in r.items()) for t, r in self.post.items()},
                "phrases": self.phrases, "phrase_card": self.phrase_card, "words": self.words,
                "synonyms": self.syn.groups, "stop": self.stop.to_data()}

    @classmethod
    def from_data(cls, d: dict) -> Index:
        if d.get("version") != INDEX_VERSION:
            raise ValueError("index version mismatch")
        idx = cls(None, Synonyms(d["synonyms"]), StopList.from_data(d["stop"]))
        idx.ids, idx.questions = d["ids"], d["questions"]
        idx.post = _Postings(d["post"])
        idx.phrases, idx.phrase_card, idx.words = d["phrases"], d["phrase_card"], d["words"]
        idx._vocab = list(idx.words)
        return idx

    # -- querying ------------------------------------------------------------------------------
    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def expand(self, query_norm: str) -> dict[str, float]:
        """Weighted query terms: exact terms, typo corrections, concepts (of the corrected text)."""
        core = self.stop.cut(query_norm)
        if not terms(core, self.stop) and not self.syn.concepts(core):
            core = query_norm   # the query was all filler: keep it rather than return nothing
        weights: Counter = Counter()
        corrected: list[str] = []
        for tok in _TOKEN.findall(core):
            if _HAS_CJK.match(tok):
                for w in _cut(tok):
                    if w.strip() and w not in self.stop.stop:
                        weights[w] += self.stop.light_weight if w in self.stop.light else 1.0
                corrected.append(tok)
                continue
            t = _stem(tok)
            if t in self.stop.stop:
                corrected.append(tok)
                continue
            if t in self.post or not tok.isalpha() or len(tok) < 4:
                weights[t] += self.stop.light_weight if t in self.stop.light else 1.0
                corrected.append(tok)
                continue
            matches = process.extract(tok, self._vocab, scorer=fuzz.ratio, limit=3, score_cutoff=TYPO_CUTOFF)
            if not matches:
                weights[t] += 1.0
                corrected.append(tok)
                continue
            best = matches[0][1]
            for word, score, _ in matches:
                if score >= best - 5:
                    weights[self.words[word]] += score / 100.0
            corrected.append(matches[0][0])
        concepts = set(self.syn.concepts(core)) | set(self.syn.concepts(" ".join(corrected)))
        for c in concepts:  # a group named by a generic ask ("drawback": 缺点, weakness...) weighs light
            w = self.stop.light_weight if self._light_term(self.syn.name(c)) else 1.0
            weights[c] = max(weights[c], w)
        return dict(weights)

    def _light_term(self, phrase: str) -> bool:
        words = _WORD.findall(phrase)
        return len(words) == 1 and _stem(words[0]) in self.stop.light

    def scores(self, query: str) -> list[float]:
        norm = normalize(query[:MAX_QUERY])
        out = [0.0] * len(self.ids)
        for t, qw in self.expand(norm).items():
            for i, v in self.post.get(t, {}).items():
                out[i] += qw * v
        compact = _compact(self.stop.cut(norm))
        if len(compact) >= 4 and self.phrases:
            sims = process.extract(compact, self.phrases, scorer=fuzz.ratio, limit=20, score_cutoff=50)
            best: dict[int, float] = {}
            for _, sim, j in sims:
                i = self.phrase_card[j]
                best[i] = max(best.get(i, 0.0), sim)
            for i, sim in best.items():
                out[i] += FUZZY_BONUS * ((sim - 50) / 50) ** 2
        return out


# ---------------------------------------------------------------------------------------------
# the disk cache (plain JSON under the user's cache dir; any failure just means "build it")

def cache_dir() -> Path | None:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "transformer-interview-lab" if base else None


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


@functools.cache
def _code_digest() -> str:
    """This module's source: a change in how text is analysed or scored invalidates the cache."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _files_key(directory: Path) -> str:
    """Names, sizes and mtimes of the bank's files (synonyms.yaml included) and the stop list."""
    stats = []
    for p in sorted(directory.glob("*.yaml")) + [STOP_FILE]:
        try:
            st = p.stat()
        except OSError:
            continue
        stats.append((str(p.resolve()), st.st_mtime_ns, st.st_size))
    return _digest(INDEX_VERSION, _code_digest(), str(directory.resolve()), stats)


def _content_key(cards: list, syn: Synonyms, stop: StopList) -> str:
    texts = [[c.id, *_field_texts(c).values()] for c in cards]
    return _digest(INDEX_VERSION, _code_digest(), texts, syn.groups, stop.to_data())


def _read_cache(name: str) -> Index | None:
    d = cache_dir()
    if d is None:
        return None
    try:
        return Index.from_data(json.loads((d / name).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(name: str, idx: Index, keep: int = 16) -> None:
    import tempfile

    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("w", dir=d, prefix=".tmp-", suffix=".json", delete=False,
                                         encoding="utf-8") as f:
            json.dump(idx.to_data(), f, ensure_ascii=False, separators=(",", ":"))
        os.replace(f.name, d / name)
        olds = sorted(d.glob("search-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in olds[keep:]:
            p.unlink(missing_ok=True)
    except OSError:
        pass


def index_of(bank) -> Index:
    """The bank's search index: built (or read from the disk cache) on first use, kept on the Bank."""
    idx = getattr(bank, "_index", None)
    if idx is None or idx.source is not bank.cards:
        syn, stop = synonyms(), stoplist()
        name = f"search-c-{_content_key(bank.cards, syn, stop)}.json"
        idx = _read_cache(name)
        if idx is None:
            idx = Index(bank.cards, syn, stop)
            _write_cache(name, idx)
        idx.source = bank.cards
        bank._index = idx
    return idx


def load_index(directory: str | Path | None = None) -> Index:
    """The index of a bank directory without parsing it when the disk cache is fresh (the CLI)."""
    if directory is None:  # questions.bank.default_dir(), without importing the bank (pydantic)
        directory = os.environ.get("TIL_QUESTIONS_DIR") or HERE
    directory = Path(directory)
    if not directory.is_dir():
        return Index([])
    name = f"search-f-{_files_key(directory)}.json"
    idx = _read_cache(name)
    if idx is None:
        from questions.bank import load_bank

        idx = index_of(load_bank(directory))
        _write_cache(name, idx)
    return idx


def search(bank, query: str, lang: str | None = None, top: int = 10, *, min_ratio: float = 0.0) -> list[Hit]:
    """The `top` best cards for `query` (any string; empty or junk gives []).

    `min_ratio` drops weak hits: only cards scoring at least `min_ratio` x the best score stay
    (the bank page uses it so a search lists the relevant cards, not every card sharing a word).
    """
    if not isinstance(query, str):
        query = "" if query is None else str(query)
    query = query[:MAX_QUERY]
    if isinstance(bank, Index):
        idx, by_id = bank, {}
    else:
        if not bank.cards:
            return []
        idx = index_of(bank)
        by_id = getattr(bank, "by_id", None) or {c.id: c for c in bank.cards}
    if not query.strip() or top <= 0 or not idx.ids:
        return []
    if lang not in ("zh", "en"):
        lang = "zh" if _HAS_CJK.search(query) else "en"
    scores = idx.scores(query)
    best = max(scores, default=0.0)
    floor = max(1e-9, min_ratio * best)
    order = sorted((i for i, s in enumerate(scores) if s >= floor), key=lambda i: -scores[i])[:top]
    return [Hit(idx.ids[i], scores[i], idx.questions[lang][i], by_id.get(idx.ids[i])) for i in order]
