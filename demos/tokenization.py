"""Subword tokenization from scratch: BPE (frequency) and WordPiece (likelihood) merges.

Corpus → words (lower-cased runs of letters/digits) with their counts. Both learners start from
single characters:
  BPE        word "low" → (l, o, w, </w>); merge the most FREQUENT adjacent pair.
  WordPiece  word "low" → (l, ##o, ##w);   merge the pair with the highest
             score = count(ab) / (count(a) · count(b)).
Ties go to the pair seen first (corpus order), so results are deterministic.
Unseen words: BPE replays the learned merges in order; WordPiece matches greedily the longest
vocabulary piece from the left (continuations carry "##"), or gives [UNK].
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

DEFAULT_CORPUS = ("low low low low low lower lower newest newest newest newest newest newest "
                  "widest widest widest new new wider lowest")
MAX_CHARS = 2000
MAX_WORDS = 400          # distinct words kept (most frequent first)
MAX_WORD_LEN = 30
MAX_MERGES = 40
EOW = "</w>"
UNK = "[UNK]"
_WORD = re.compile(r"[^\W_]+")


@dataclass
class Corpus:
    counts: dict[str, int]              # word -> count, in first-seen order
    truncated: bool = False             # text longer than MAX_CHARS was cut
    dropped_chars: int = 0              # characters that are not letters/digits/space (ignored)
    capped_words: bool = False          # more than MAX_WORDS distinct words


def parse_corpus(text: str) -> Corpus:
    """Words and counts from free text; never raises (empty text gives an empty Corpus)."""
    text = text or ""
    truncated = len(text) > MAX_CHARS
    text = text[:MAX_CHARS].lower()
    words = [w[:MAX_WORD_LEN] for w in _WORD.findall(text)]
    kept = sum(len(w) for w in _WORD.findall(text))
    dropped = sum(1 for c in text if not c.isspace()) - kept
    counts: Counter[str] = Counter(words)
    capped = len(counts) > MAX_WORDS
    if capped:
        top = {w for w, _ in counts.most_common(MAX_WORDS)}
        counts = Counter({w: c for w, c in counts.items() if w in top})
    ordered = {w: counts[w] for w in dict.fromkeys(words) if w in counts}
    return Corpus(ordered, truncated, max(dropped, 0), capped)


# -- shared machinery ---------------------------------------------------------------------------

def _pair_counts(splits: dict[str, list[str]], counts: dict[str, int]) -> dict[tuple[str, str], int]:
    pairs: dict[tuple[str, str], int] = {}
    for w, syms in splits.items():
        for a, b in zip(syms, syms[1:], strict=False):
            pairs[(a, b)] = pairs.get((a, b), 0) + counts[w]
    return pairs


def _symbol_counts(splits: dict[str, list[str]], counts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for w, syms in splits.items():
        for s in syms:
            out[s] = out.get(s, 0) + counts[w]
    return out


def _apply(syms: list[str], a: str, b: str, new: str) -> list[str]:
    out, i = [], 0
    while i < len(syms):
        if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(syms[i])
            i += 1
    return out


def _wp_join(a: str, b: str) -> str:
    return a + (b[2:] if b.startswith("##") else b)


@dataclass
class Step:
    pair: tuple[str, str]               # the pair merged at this step
    new: str                            # the new symbol
    count: int                          # its pair count
    score: float                        # count(ab)/(count(a)·count(b))
    table: list[tuple[str, str, int, float]]   # every candidate (a, b, count, score) BEFORE the merge
    splits: dict[str, list[str]]        # segmentation AFTER the merge
    vocab: list[str]                    # vocabulary AFTER the merge


def _learn(counts: dict[str, int], n_merges: int, kind: str) -> tuple[list[str], list[Step]]:
    if kind == "bpe":
        splits = {w: list(w) + [EOW] for w in counts}
    else:
        splits = {w: [w[0]] + ["##" + c for c in w[1:]] for w in counts}
    vocab: list[str] = []
    for syms in splits.values():
        for s in syms:
            if s not in vocab:
                vocab.append(s)
    base = list(vocab)
    steps: list[Step] = []
    for _ in range(n_merges):
        pairs = _pair_counts(splits, counts)
        if not pairs:
            break
        sym = _symbol_counts(splits, counts)
        table = [(a, b, c, c / (sym[a] * sym[b])) for (a, b), c in pairs.items()]
        key = (lambda r: r[2]) if kind == "bpe" else (lambda r: r[3])
        best = table[0]
        for row in table[1:]:           # first-seen wins ties
            if key(row) > key(best):
                best = row
        a, b, c, score = best
        new = a + b if kind == "bpe" else _wp_join(a, b)
        splits = {w: _apply(s, a, b, new) for w, s in splits.items()}
        if new not in vocab:
            vocab.append(new)
        steps.append(Step((a, b), new, c, score, table, dict(splits), list(vocab)))
    return base, steps


def learn_bpe(counts: dict[str, int], n_merges: int = MAX_MERGES) -> tuple[list[str], list[Step]]:
    """(initial character vocabulary, merge steps) of BPE."""
    return _learn(counts, n_merges, "bpe")


def learn_wordpiece(counts: dict[str, int], n_merges: int = MAX_MERGES) -> tuple[list[str], list[Step]]:
    """(initial vocabulary with ## continuations, merge steps) of WordPiece."""
    return _learn(counts, n_merges, "wordpiece")


def initial_splits(counts: dict[str, int], kind: str) -> dict[str, list[str]]:
    if kind == "bpe":
        return {w: list(w) + [EOW] for w in counts}
    return {w: [w[0]] + ["##" + c for c in w[1:]] for w in counts}


# -- unseen words ----------------------------------------------------------------------------------

def bpe_encode(word: str, merges: list[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
    """Replay merges in learned order on (chars + </w>). Returns (pieces, the states after each
    merge that changed something, starting with the characters)."""
    syms = list(word) + [EOW]
    history = [list(syms)]
    for a, b in merges:
        new = _apply(syms, a, b, a + b)
        if new != syms:
            syms = new
            history.append(list(syms))
    return syms, history


def wordpiece_encode(word: str, vocab: set[str] | list[str]) -> list[str]:
    """Greedy longest-match-first from the left; continuation pieces are looked up as ##piece.
    If some position matches nothing, the whole word is [UNK] (as in BERT)."""
    vocab = set(vocab)
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        found = None
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = piece
                break
            end -= 1
        if found is None:
            return [UNK]
        pieces.append(found)
        start = end
    return pieces


def learn(text: str) -> tuple[Corpus, list[str], list[Step], list[str], list[Step]]:
    """The page's corpus and both learners on it: (corpus, BPE base, BPE steps, WordPiece base,
    WordPiece steps)."""
    corpus = parse_corpus(text)
    bpe_base, bpe = learn_bpe(corpus.counts)
    wp_base, wp = learn_wordpiece(corpus.counts)
    return corpus, bpe_base, bpe, wp_base, wp


def pair_view(step: Step) -> tuple[list[str], list[int], list[float], int, int]:
    """One step's candidate pairs: labels "a + b", counts, WordPiece scores, the index BPE would
    merge (highest count, first seen on ties) and the index this step merged."""
    labels = [f"{a} + {b}" for a, b, _, _ in step.table]
    counts = [c for _, _, c, _ in step.table]
    scores = [sc for _, _, _, sc in step.table]
    chosen = next(i for i, (a, b, _, _) in enumerate(step.table) if (a, b) == step.pair)
    bpe_i = max(range(len(counts)), key=lambda i: (counts[i], -i))
    return labels, counts, scores, bpe_i, chosen


def top_scores(scores: list[float], n: int = 15) -> list[int]:
    """Indices of the n highest scores, highest first (first seen on ties)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:n]


def side_by_side(bpe: list[Step], wp: list[Step]) -> tuple[list[str], list[str], list[bool]]:
    """Each step's new symbol for BPE and WordPiece ('' past a learner's last step), and whether
    both merged the same string."""
    n = max(len(bpe), len(wp))
    bn = [bpe[i].new if i < len(bpe) else "" for i in range(n)]
    wn = [wp[i].new if i < len(wp) else "" for i in range(n)]
    return bn, wn, [bool(b) and b.replace(EOW, "") == w.replace("##", "") for b, w in zip(bn, wn, strict=True)]


def vocab_after(wp: list[Step], wp_base: list[str], k: int) -> list[str]:
    """WordPiece's vocabulary after k merges (its base for k = 0 or when it learnt none)."""
    return wp[min(k, len(wp)) - 1].vocab if k > 0 and wp else wp_base


def clean_word(text: str) -> str:
    """The first word of user text, lower-cased, letters/digits only ('' when there is none)."""
    m = _WORD.search((text or "").lower())
    return m.group(0)[:MAX_WORD_LEN] if m else ""


def first_difference(bpe: list[Step], wp: list[Step]) -> int | None:
    """First step (0-based) where the two learners merge different strings, or None."""
    for i, (a, b) in enumerate(zip(bpe, wp, strict=False)):
        if a.new.replace(EOW, "") != b.new.replace("##", ""):
            return i
    return None
