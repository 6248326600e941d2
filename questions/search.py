"""Search the question bank: the one function the app, the CLI and the tests use.

    search(bank, query, lang=None, top=10) -> list[Hit]

How it ranks (an index is built once per Bank and kept on it):

* Text is normalised with NFKC + casefold (full-width ＬａｙｅｒＮｏｒｍ == layernorm) and a little
  LaTeX clean-up (`\\sqrt{d_k}` -> `sqrt dk`).
* Terms: English/digit words (lightly stemmed) and, for Chinese (no spaces), character bigrams
  (a lone Chinese character is kept as a unigram).
* Synonyms (questions/synonyms.yaml): every phrase of a group found in a text adds the group's
  concept term, on the card side and on the query side, so "LN", "LayerNorm", "层归一化" and
  "layer normalization" all match each other (query expansion through shared concepts).
* Typos: a query word missing from the vocabulary is replaced by its closest vocabulary words
  (rapidfuzz, similarity >= 75), weighted by similarity.
* Score: BM25 per field, weighted (question and aliases 3, keywords 1.5, answer 1), plus a
  fuzzy bonus for a query close to a question or alias as a whole (paraphrases, near-copies).

Both languages of every card are indexed, whatever `lang` is; `lang` only picks the language of
the question returned in each hit (default: Chinese when the query contains Chinese).
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from questions.schema import Card

MAX_QUERY = 500           # characters of a query considered (longer input is cut)
FIELD_WEIGHTS = {"question": 3.0, "aliases": 3.0, "keywords": 1.5, "answer": 1.0}
K1, B = 1.2, 0.75
FUZZY_BONUS = 4.0         # max bonus for a query that nearly equals a question/alias
TYPO_CUTOFF = 75          # rapidfuzz similarity (0..100) for a typo correction
SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(f"[{_CJK}]+|[a-z0-9]+")
_LATEX_CMD = re.compile(r"\\([a-z]+)")
_SUBSCRIPT = re.compile(r"([a-z0-9])_\{?([a-z0-9]+)\}?")
_HAS_CJK = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    question: str
    card: Card

    def as_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 4), "question": self.question}


# ---------------------------------------------------------------------------------------------
# text -> terms

def normalize(text: str) -> str:
    """NFKC + casefold, LaTeX commands and subscripts flattened (d_k -> dk, \\sqrt -> sqrt)."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    text = _LATEX_CMD.sub(r" \1 ", text)
    text = _SUBSCRIPT.sub(r"\1\2", text)
    return text


def _stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "sses")):
                continue
            return word[: len(word) - len(suffix)] + repl
    return word


def terms(norm: str) -> list[str]:
    """Index terms of an already normalised text: stemmed words and Chinese bigrams."""
    out: list[str] = []
    for tok in _TOKEN.findall(norm):
        if _HAS_CJK.match(tok):
            if len(tok) == 1:
                out.append(tok)
            else:
                out.extend(tok[i:i + 2] for i in range(len(tok) - 1))
        else:
            out.append(_stem(tok))
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
        # a CJK phrase inside a longer phrase of the same group must not count twice
        self._cjk.sort(key=lambda x: -len(x[0]))

    def concepts(self, norm: str) -> list[str]:
        counts: Counter = Counter()
        for gi_phrases in self._by_group_cjk(norm):
            gi, n = gi_phrases
            counts[gi] += n
        words = _WORD.findall(norm)
        for i in range(len(words)):
            for n in range(1, self.MAX_WORDS + 1):
                if i + n > len(words):
                    break
                hit = self._words.get(tuple(words[i:i + n]))
                if hit:
                    for gi in hit:
                        counts[gi] += 1
        return [f"§{gi}" for gi, n in counts.items() for _ in range(n)]

    def _by_group_cjk(self, norm: str):
        best: dict[int, int] = {}
        for phrase, gi in self._cjk:
            n = norm.count(phrase)
            if n > best.get(gi, 0):
                best[gi] = n
        return best.items()

    def name(self, concept: str) -> str:
        return self.groups[int(concept[1:])][0]


@functools.cache
def synonyms(path: str = str(SYNONYMS_FILE)) -> Synonyms:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return Synonyms([list(map(str, g)) for g in data.get("groups", [])])


def analyze(text: str, syn: Synonyms | None = None) -> list[str]:
    norm = normalize(text)
    return terms(norm) + (syn or synonyms()).concepts(norm)


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


class Index:
    def __init__(self, cards: list[Card], syn: Synonyms | None = None) -> None:
        self.syn = syn or synonyms()
        self.cards = list(cards)
        self.source: list[Card] | None = None  # the list it was built from (identity check)
        n = len(self.cards)
        self.tf: dict[str, list[Counter]] = {f: [] for f in FIELD_WEIGHTS}
        self.lengths: dict[str, list[int]] = {f: [] for f in FIELD_WEIGHTS}
        df: Counter = Counter()
        self.phrases: list[str] = []          # normalised questions and aliases, for the fuzzy bonus
        self.phrase_card: list[int] = []
        for i, card in enumerate(self.cards):
            seen: set[str] = set()
            for f, text in _field_texts(card).items():
                tf = Counter(analyze(text, self.syn))
                self.tf[f].append(tf)
                self.lengths[f].append(sum(tf.values()))
                seen.update(tf)
            df.update(seen)
            for p in [card.question.zh, card.question.en, *card.aliases.zh, *card.aliases.en]:
                self.phrases.append(_compact(p))
                self.phrase_card.append(i)
        avg = {f: (sum(v) / n if n else 1.0) or 1.0 for f, v in self.lengths.items()}
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        # postings: term -> {card index: field-weighted BM25 contribution}
        self.post: dict[str, dict[int, float]] = {}
        for f, fw in FIELD_WEIGHTS.items():
            for i, tf in enumerate(self.tf[f]):
                norm_len = K1 * (1 - B + B * self.lengths[f][i] / avg[f])
                for t, c in tf.items():
                    row = self.post.setdefault(t, {})
                    row[i] = row.get(i, 0.0) + fw * self.idf[t] * c * (K1 + 1) / (c + norm_len)
        del self.tf
        self.vocab = sorted(t for t in self.idf if _WORD.fullmatch(t) and len(t) >= 3)

    def expand(self, query_norm: str) -> dict[str, float]:
        """Weighted query terms: exact terms, typo corrections, concepts (of the corrected text)."""
        weights: Counter = Counter()
        corrected: list[str] = []
        for t in terms(query_norm):
            if t in self.idf or not _WORD.fullmatch(t) or len(t) < 4:
                weights[t] += 1.0
                corrected.append(t)
                continue
            matches = process.extract(t, self.vocab, scorer=fuzz.ratio, limit=3, score_cutoff=TYPO_CUTOFF)
            if not matches:
                weights[t] += 1.0
                corrected.append(t)
                continue
            best = matches[0][1]
            for word, score, _ in matches:
                if score >= best - 5:
                    weights[word] += score / 100.0
            corrected.append(matches[0][0])
        concepts = set(self.syn.concepts(query_norm))
        concepts |= set(self.syn.concepts(" ".join(corrected)))
        for c in concepts:
            weights[c] = max(weights[c], 1.0)
        return dict(weights)

    def scores(self, query: str) -> list[float]:
        norm = normalize(query[:MAX_QUERY])
        q = self.expand(norm)
        out = [0.0] * len(self.cards)
        for t, qw in q.items():
            for i, v in self.post.get(t, {}).items():
                out[i] += qw * v
        compact = _compact(query[:MAX_QUERY])
        if len(compact) >= 4 and self.phrases:
            sims = process.extract(compact, self.phrases, scorer=fuzz.ratio, limit=20, score_cutoff=50)
            best: dict[int, float] = {}
            for _, sim, j in sims:
                i = self.phrase_card[j]
                best[i] = max(best.get(i, 0.0), sim)
            for i, sim in best.items():
                out[i] += FUZZY_BONUS * ((sim - 50) / 50) ** 2
        return out


def _compact(text: str) -> str:
    """Normalised text without spaces or punctuation, for whole-question fuzzy comparison."""
    return "".join(_TOKEN.findall(normalize(text)))


def index_of(bank) -> Index:
    """The bank's search index, built on first use and kept on the Bank object."""
    idx = getattr(bank, "_index", None)
    if idx is None or idx.source is not bank.cards:
        idx = Index(bank.cards)
        idx.source = bank.cards
        bank._index = idx
    return idx


def search(bank, query: str, lang: str | None = None, top: int = 10, *, min_ratio: float = 0.0) -> list[Hit]:
    """The `top` best cards for `query` (any string; empty or junk gives []).

    `min_ratio` drops weak hits: only cards scoring at least `min_ratio` x the best score stay
    (the bank page uses it so a search lists the relevant cards, not every card sharing a word).
    """
    if not isinstance(query, str):
        query = "" if query is None else str(query)
    query = query[:MAX_QUERY]
    if not query.strip() or top <= 0 or not bank.cards:
        return []
    if lang not in ("zh", "en"):
        lang = "zh" if _HAS_CJK.search(query) else "en"
    idx = index_of(bank)
    scores = idx.scores(query)
    best = max(scores, default=0.0)
    floor = max(1e-9, min_ratio * best)
    order = sorted((i for i, s in enumerate(scores) if s >= floor), key=lambda i: -scores[i])[:top]
    return [Hit(idx.cards[i].id, scores[i], idx.cards[i].question.get(lang), idx.cards[i]) for i in order]
