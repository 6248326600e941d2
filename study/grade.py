"""Grade a typed answer against its card's rubric: claims, not words (issue 19; no Streamlit).

    grade(card, answer, lang="auto") -> Verdict(verdict, points, misconceptions, ...)

How an answer is read:

1. **Normalised** (`normalize`): NFKC (full/half width, superscripts), Traditional -> Simplified
   (OpenCC `t2s`), lowercase, symbols (− -> -, ∞ -> inf, √ -> sqrt, ≤ -> <=, QKᵀ -> qkt), `d_k`,
   `d_{k}`, `d k` -> `dk`, British `-ise` -> `-ize`, `n't` -> ` not`, brackets and LaTeX
   backslashes dropped, spaces next to Chinese characters dropped ("方差为 1" == "方差为1").
2. **Split** into sentences, then clauses (punctuation and connectives: but/because/so…,
   因为/所以/但是…). Points are matched in clauses; misconceptions in finer clauses (also cut at
   "and" / "而"), so "LN normalises each token and BN normalises over the batch" is no "LN + batch".
3. A **pattern** (`a|b + c`) matches when every term has an occurrence in one clause that is not
   negated: a negation (不/没/并非/不是/无需… / not/no/never/n't/without/rather than…) shortly before
   the term flips it, unless the negation word is itself matched by a term of the pattern (that
   is how a rubric states a negative claim: `无法|不能 + 顺序`). English words of 4+ letters match by
   their Snowball stem as a prefix ("saturates" ~ "saturation"); Chinese terms of 4+ characters
   forgive one wrong character (a typo), never a negation or an antonym character.
4. A sentence that **disowns** its terms ("I have no idea what…", "我不知道…是什么") makes no point;
   an answer that is mostly **bare terms** (a keyword list: fragments without function words) is
   judged `poor` whatever it mentions.

Verdict: a detected misconception -> `poor` (shown with its correction); a keyword list -> `poor`;
every point -> `good`; a long answer hitting fewer than half the points -> `unsure` (it may be right
in its own words); some points -> `partial`; none -> `poor`. A card without a rubric -> `unsure`.
The verdict is a suggestion only: the learner confirms the points (pages) and that sets the rating.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import opencc
import rjieba
import Stemmer

from questions.rubric import Rubric, fingerprint, load_rubrics, split_pattern
from questions.schema import Card

VERDICTS = ("good", "partial", "poor", "unsure")
MAX_CHARS = 20_000
LONG_TOKENS = 22            # an answer this long that hits < half the points is `unsure`, not `poor`
KEYWORD_DENSITY = 0.11      # share of function words below which an answer is a bare term list
FRAGMENT_DENSITY = 0.22     # … or below this with mostly tiny fragments
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{CJK}]")

_T2S = opencc.OpenCC("t2s")
_STEMMER = Stemmer.Stemmer("english")

# ---------------------------------------------------------------------------------------------
# normalisation

_SYMBOLS = str.maketrans({
    "\u2212": "-", "\u2013": "-", "\u2014": " - ", "\u2010": "-", "\u2011": "-", "\u2012": "-",
    "\u221e": "inf", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u00d7": "*", "\u00f7": "/",
    "\u22c5": "·", "\u2219": "·", "\u2022": "\n", "\u2192": "->", "\u21d2": "->", "\u2018": "'", "\u2019": "'",
    "(": " ", ")": " ", "[": " ", "]": " ", "{": " ", "}": " ", "$": " ", "\\": " ", "^": "", "`": " ",
    "\u3001": "、", "\u201c": " ", "\u201d": " ", '"': " ", "\uff5e": "~",
})
_LATEX: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(a), b) for a, b in (
    (r"\\cdot(?![a-z])", "·"), (r"\\top(?![a-z])", "t"), (r"\\times(?![a-z])", "*"),
    (r"\\infty(?![a-z])", "inf"), (r"\\le(?:q)?(?![a-z])", "<="), (r"\\ge(?:q)?(?![a-z])", ">="),
    (r"\\(?:mathrm|mathbb|mathbf|text|operatorname|left|right|frac|dfrac|tfrac|displaystyle)(?![a-z])|\\[!,;]", " "),
))
_SUBS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(a), b) for a, b in (
    (r"\\sqrt|√", " sqrt "),
    (r"\bcan't\b|\bcannot\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"n't\b", " not"),
    (r"\b([a-z])_\s*([a-z0-9]+)\b", r"\1\2"),            # d_k, d_{k}, w_q -> dk, wq
    (r"\bd\s+(k|v|q|model|ff|head|h)\b", r"d\1"),         # "d k" -> dk
    (r"(al|im|ar|og|ot|on|ur|er|en|it)is(e|es|ed|ing|ation|ations)\b", r"\1iz\2"),  # normalise -> normalize
    (r"\s*([<>=+*/·])\s*", r"\1"),                         # "j > i" == "j>i"
    (r"(?<![a-z0-9])([a-z0-9]{1,3})\s+-\s*(?=[a-z0-9]{1,3}(?![a-z0-9]))", r"\1-"),  # "m - n" == "m-n"
    (r"(?<=[a-z]{2})-(?=[a-z])|(?<=[a-z])-(?=[a-z]{2})", " "),  # permutation-invariant -> 2 words
    (r"[ \t\r\f\v]+", " "),
    (rf"(?<=[{CJK}]) +| +(?=[{CJK}])", ""),                # spacing around Chinese never matters
    (r"_", " "),
))


_PRE = re.compile(r"\*\*|__|^#+\s|^>\s?", re.M)
_WMAT = re.compile(r"([A-Za-z])W\^")
_CODE = re.compile(r"```.*?(?:```|$)", re.S)


def normalize(text: str) -> str:
    """The form both answers and patterns are matched in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", str(text)[:MAX_CHARS])
    text = _PRE.sub(" ", _WMAT.sub(r"\1 W^", text))  # **bold**, # headings; XW^Q -> X W^Q
    for rx, repl in _LATEX:
        text = rx.sub(repl, text)
    text = _T2S.convert(text).casefold().translate(_SYMBOLS)
    for rx, repl in _SUBS:
        text = rx.sub(repl, text)
    return text.strip()


# ---------------------------------------------------------------------------------------------
# clauses

_SENTENCE = re.compile(r"(?<![0-9a-z])\.(?![0-9])|[!?。\n]+|\.(?=\s|$)")
_CLAUSE = re.compile(
    r"[,;，；]|(?<!:):(?![:0-9])|\s(?:but|because|however|whereas|while|although|though|so|therefore|thus|hence)\b"
    r"|因为|所以|但是|但|然而|因此|从而|否则|而是|不过")
_FINE = re.compile(r"\sand\b|\sor\b|而(?!言|已|是|不是|非)|同时")


def sentences(norm: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(norm) if s and s.strip()]


_ENUM_COMMA = re.compile(r"(?<![a-z0-9])([a-z0-9]{1,3}(?:[0-9]|'s)?)\s*,\s*(?=[a-z0-9]{1,3}(?![a-z0-9]))")


def clauses(sentence: str, fine: bool = False) -> list[str]:
    sentence = _ENUM_COMMA.sub(r"\1、", _ENUM_COMMA.sub(r"\1、", sentence))  # "q, k, v" is one item list
    parts = [c.strip() for c in _CLAUSE.split(sentence) if c and c.strip()]
    if fine:
        parts = [f.strip() for c in parts for f in _FINE.split(c) if f and f.strip()]
    return parts


# ---------------------------------------------------------------------------------------------
# negation, disowning, function words

_NEG_ZH = re.compile(r"并非|不是|无需|不需要?|不会|不能|无法|没有|并不|不用|不必|未(?!来|知)|没|非(?!线性|常|零|负)"
                     r"|无(?!穷|论|限|偏)|不(?!同|仅|断|变|论|管|少|过|错|只|止|久|然|如|妨|得不)")
_NEG_EN = re.compile(r"(?<![a-z])(?:not(?!\s+only)|no|never|without|nothing|none|neither|nor|rather than|instead of"
                     r"|lacks?|lacking|fails? to)(?![a-z])")
_NEG_WINDOW_ZH = 6   # Chinese characters / Latin words between a negation and the term it flips
_NEG_WINDOW_EN = 4
_NEG_WINDOW_CONTRAST = 3  # 而不是 / 而非 / rather than / instead of: only the object right after is denied
_GAP_UNIT = re.compile(f"[{CJK}]|[a-z0-9]+")

_DISOWN = re.compile(
    r"(?<![a-z])(?:i\s+(?:have|had)\s+no\s+(?:idea|clue)|no\s+idea|no\s+clue|i\s+(?:do|did)\s+not\s+know"
    r"|i\s+(?:am|'m)\s+not\s+sure|not\s+sure\s+(?:what|how|why|if|whether)|i\s+(?:can|could)\s+not\s+(?:remember|recall)"
    r"|i\s+(?:do|did)\s+not\s+(?:remember|understand|get)|i\s+forg[eo]t|never\s+heard|i\s+(?:would|'d)\s+guess"
    r"|what\s+\w+(?:\s+\w+)?\s+(?:mean|means)\b|dunno)(?![a-z])"
    r"|我(?:也|真的|完全|并|实在)?(?:不知道|不清楚|不确定|不太懂|不懂|不了解|不记得|记不清|忘了|没学过|猜)"
    r"|不太清楚|没听说过|搞不懂|不知道.{0,30}(?:是什么|什么意思|怎么)|是什么意思|啥意思")

_EN_FUNC = frozenset("""
a an the is are was were be been being it its this that these those of to in on at by with for from so as than then
because which who whom whose when where if each every into over per can could will would should must may might has
have had do does did not no never make makes made get gets let lets keep keeps become becomes became mean means
they them their we you our your one both all only also too very more less much same there here while whereas since
thus hence therefore instead what how why through across within without between after before about just still even
other another such any some once via using use uses used give gives gave turn turns need needs take takes allow
allows help helps cause causes stay stays remain remains goes go come comes while rather but i my
""".split())
_ZH_FUNC = frozenset("""
的 了 是 会 能 可以 让 使 使得 把 被 对 在 用 有 为 将 就 要 需要 导致 而 由 从 与 随 随着 当 所以 因为 因此 则 才 都 也
还 更 越 比 不 没有 没 它 其 这 那 这个 那个 每个 每 一个 后 前 中 上 下 到 给 向 于 即 并 且 或 如果 若 时 很 太 去 来
做 看 叫 算 得 等于 成 出 只 仅 再 又 已经 着 过 吗 呢 吧 啊 通过 保持 乘以 除以 加上 减去 变成 变 得到 来自 就是 即可
用来 用于 以 及 所 之 该 此 能够 可能 应该 必须 不会 不能 无法 比较 非常 我 你 他 我们 它们 其中 大 小 多 少 高 低 后面
前面 之前 之后 只是 而是 但 但是 所有 各 各个 自己 本身 这样 那样 这里 这些 那些 造成 引起 带来 避免 防止 保证 相当于 会让
""".split())
_LATIN_WORD = re.compile(r"[a-z]+")


def _tokens(norm: str) -> list[str]:
    """Words of a normalised text: Latin words, numbers and Chinese words (rjieba), no punctuation."""
    out: list[str] = []
    for piece in re.findall(f"[{CJK}]+|[a-z]+|[0-9]+", norm):
        if _CJK_CHAR.match(piece):
            out.extend(w for w in rjieba.cut(piece) if w.strip())
        else:
            out.append(piece)
    return out


def _is_func(token: str) -> bool:
    return token in _EN_FUNC or token in _ZH_FUNC


def _fragments(norm: str) -> list[str]:
    return [f for f in re.split(r"[,;:，；：、/\n]|\s{2,}|\s-\s|\sand\s|\sor\s", norm) if f.strip()]


def keyword_list(norm: str) -> bool:
    """An answer that is mostly bare terms: few function words overall, or mostly tiny
    fragments (`a, b, c` / `a、b、c` / one term per line) with few function words."""
    toks = [t for t in _tokens(norm) if not (t.isascii() and len(t) < 2)]  # math symbols are not words
    if len(toks) < 3:
        return False
    density = sum(map(_is_func, toks)) / len(toks)
    if density < KEYWORD_DENSITY:
        return True
    if len(toks) >= 6 and density < 0.3 and not re.search(r"[,.;:!?。]", norm):
        return True  # terms strung together without a single punctuation mark
    frags = _fragments(norm)
    sizes = [len(_tokens(f)) for f in frags]
    if len(frags) >= 4 and sum(n <= 3 for n in sizes) >= 0.75 * len(frags) and max(sizes) < 6:
        return True  # one short term per fragment: a list, whatever its little words
    if len(frags) >= 3 and density < FRAGMENT_DENSITY and max(sizes) < 8:  # a sentence-long fragment: prose
        tiny = sum(1 for f in frags if len(_tokens(f)) <= 3)
        return tiny >= 0.6 * len(frags)
    return False


# ---------------------------------------------------------------------------------------------
# patterns

_ANTONYM_CHARS = set("上下大小增减高低前后左右多少长短正负稳不没无非未")


def _prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _alt_regex(alt: str) -> str:
    """Regex source of one alternative of a term (already in normalised form)."""
    norm = normalize(alt)
    pieces: list[str] = []
    pos = 0
    cjk_only = bool(norm) and all(_CJK_CHAR.match(c) for c in norm)
    if cjk_only and len(norm) >= 4:  # one wrong character forgiven (not a negation/antonym one)
        variants = [re.escape(norm)]
        for i, ch in enumerate(norm):
            if ch not in _ANTONYM_CHARS:
                variants.append(re.escape(norm[:i]) + f"[{CJK}](?<![不没无非未])" + re.escape(norm[i + 1:]))
        return "(?:" + "|".join(variants) + ")"
    for m in re.finditer(f"[a-z]+|[0-9]+|[{CJK}]+|\\s+|.", norm):
        tok = m.group()
        if tok.isspace():
            pieces.append(r"\s*")
        elif tok.isascii() and tok.isalpha():
            boundary = "" if pos and not norm[pos - 1].isspace() and norm[pos - 1].isalpha() else r"(?<![a-z0-9])"
            stem = _prefix(_STEMMER.stemWord(tok), tok) if len(tok) >= 4 else tok  # "only" -> "onli" -> "onl"
            if len(stem) >= 4:
                pieces.append(boundary + re.escape(stem) + "[a-z]*")
            else:
                pieces.append(boundary + re.escape(tok) + r"(?:s|es|ed|d|ing)?(?![a-z])")
        elif tok.isdigit():
            pieces.append(r"(?<![0-9])" + tok + r"(?![0-9])")
        else:
            pieces.append(re.escape(tok))
        pos = m.end()
    return "".join(pieces)


@dataclass(frozen=True)
class Pattern:
    source: str
    terms: tuple[re.Pattern, ...]


def compile_pattern(source: str) -> Pattern:
    terms = []
    for alts in split_pattern(source):
        terms.append(re.compile("|".join(f"(?:{_alt_regex(a)})" for a in alts if a)))
    return Pattern(source, tuple(terms))


def _gap_units(text: str) -> int:
    return len(_GAP_UNIT.findall(text))


def _negations(clause: str) -> list[tuple[int, int, int]]:
    """(start, end, window) of each negation word in a clause."""
    out = [(m.start(), m.end(), _NEG_WINDOW_CONTRAST if clause[max(0, m.start() - 1):m.start()] == "而"
            else _NEG_WINDOW_ZH) for m in _NEG_ZH.finditer(clause)]
    out += [(m.start(), m.end(), _NEG_WINDOW_CONTRAST if " " in m.group() else _NEG_WINDOW_EN)
            for m in _NEG_EN.finditer(clause)]
    return out


def pattern_in_clause(pattern: Pattern, clause: str) -> bool:
    """Every term occurs in the clause, at least once outside the scope of a negation."""
    spans: list[list[tuple[int, int]]] = []
    for term in pattern.terms:
        found = [(m.start(), m.end()) for m in term.finditer(clause) if m.end() > m.start()]
        if not found:
            return False
        spans.append(found)
    covered = [s for found in spans for s in found]
    negs = [(a, b, w) for a, b, w in _negations(clause)
            if not any(s < b and a < e for s, e in covered)]  # a negation the pattern names is the claim
    if not negs:
        return True
    for found in spans:
        if all(any(b <= s and _gap_units(clause[b:s]) <= w for a, b, w in negs) for s, _e in found):
            return False
    return True


@dataclass(frozen=True)
class CompiledRubric:
    rubric: Rubric
    points: tuple[tuple[Pattern, ...], ...]
    misconceptions: tuple[tuple[Pattern, ...], ...]


def compile_rubric(rubric: Rubric) -> CompiledRubric:
    return CompiledRubric(
        rubric,
        tuple(tuple(compile_pattern(p) for p in pt.match.all()) for pt in rubric.points),
        tuple(tuple(compile_pattern(p) for p in mc.match.all()) for mc in rubric.misconceptions))


class _LazyCompiled(Mapping):
    """card id -> CompiledRubric, each compiled on first use: compiling all 165 rubrics' ~2,900
    patterns takes seconds, and a page grades one card (the first self-check used to wait 6 s)."""

    def __init__(self, rubrics: dict[str, Rubric]) -> None:
        self._rubrics = rubrics
        self._done: dict[str, CompiledRubric] = {}
        self._lock = threading.Lock()

    def __getitem__(self, card_id: str) -> CompiledRubric:
        done = self._done.get(card_id)
        if done is None:
            compiled = compile_rubric(self._rubrics[card_id])
            with self._lock:
                done = self._done.setdefault(card_id, compiled)
        return done

    def __iter__(self):
        return iter(self._rubrics)

    def __len__(self) -> int:
        return len(self._rubrics)


@lru_cache(maxsize=4)
def _compiled_all(key: tuple) -> Mapping[str, CompiledRubric]:
    return _LazyCompiled(load_rubrics(key[0] or None))


def compiled_rubrics(directory: str | None = None) -> Mapping[str, CompiledRubric]:
    """Every rubric, compiled on first use; re-read when a rubric file changes."""
    return _compiled_all((directory, fingerprint(directory)))


def rubric_for(card_id: str) -> Rubric | None:
    c = compiled_rubrics().get(card_id)
    return c.rubric if c else None


# ---------------------------------------------------------------------------------------------
# the verdict

@dataclass
class Verdict:
    verdict: str                                   # good | partial | poor | unsure
    points: list[dict] = field(default_factory=list)          # {"id", "hit", "text"}
    misconceptions: list[dict] = field(default_factory=list)  # detected: {"id", "message", "claim"}
    lang: str = "en"                               # the answer's language (zh when it has Chinese)
    keyword_list: bool = False
    disowned: bool = False
    has_rubric: bool = True

    @property
    def missing(self) -> list[str]:
        return [p["id"] for p in self.points if not p["hit"]]

    @property
    def hit_ids(self) -> list[str]:
        return [p["id"] for p in self.points if p["hit"]]

    def as_json(self) -> dict:
        """The CLI's shape: {"verdict", "points": [{"id", "hit"}], "misconceptions": [{"id", "message"}]}."""
        return {"verdict": self.verdict, "points": [{"id": p["id"], "hit": p["hit"]} for p in self.points],
                "misconceptions": [{"id": m["id"], "message": m["message"]} for m in self.misconceptions]}

    def to_dict(self) -> dict:
        return asdict(self)


def answer_lang(text: str) -> str:
    """zh when at least a few Chinese characters are in the answer, else en."""
    return "zh" if len(_CJK_CHAR.findall(str(text)[:2000])) >= 2 else "en"


def _live_clauses(norm: str, fine: bool) -> tuple[list[str], bool]:
    """Clauses of the sentences that do not disown their terms; whether any sentence did."""
    out: list[str] = []
    disowned = False
    for s in sentences(norm):
        if _DISOWN.search(s):
            disowned = True
            continue
        out.extend(clauses(s, fine))
    return out, disowned


def _any_match(patterns: Iterable[Pattern], parts: Sequence[str]) -> bool:
    return any(pattern_in_clause(p, c) for p in patterns for c in parts)


def grade_with(compiled: CompiledRubric | None, answer: str, lang: str = "auto") -> Verdict:
    """The verdict of `answer` against a compiled rubric (None: a card without a rubric)."""
    text = str(answer or "")[:MAX_CHARS]
    out_lang = answer_lang(text) if lang not in ("zh", "en") else lang
    if compiled is None:
        return Verdict("unsure", lang=out_lang, has_rubric=False)
    rubric = compiled.rubric
    norm = normalize(text)
    coarse, disowned = _live_clauses(norm, fine=False)
    fine, _ = _live_clauses(norm, fine=True)
    is_list = keyword_list(normalize(_CODE.sub(" ", text)))  # code is not prose
    points = []
    for pt, pats in zip(rubric.points, compiled.points, strict=True):
        hit = not is_list and _any_match(pats, coarse)
        points.append({"id": pt.id, "hit": hit, "text": pt.text.get(out_lang)})
    mis = []
    for mc, pats in zip(rubric.misconceptions, compiled.misconceptions, strict=True):
        if _any_match(pats, fine):
            mis.append({"id": mc.id, "message": mc.correction.get(out_lang), "claim": mc.claim.get(out_lang)})
    n_hit = sum(p["hit"] for p in points)
    if not norm or is_list or mis:
        verdict = "poor"
    elif n_hit == len(points):
        verdict = "good"
    elif 2 * n_hit < len(points) and len(_tokens(norm)) >= LONG_TOKENS and not disowned:
        verdict = "unsure"
    elif n_hit:
        verdict = "partial"
    else:
        verdict = "poor"
    return Verdict(verdict, points, mis, out_lang, is_list, disowned)


def grade(card: Card | str, answer: str, lang: str = "auto") -> Verdict:
    """The suggestion for a typed answer to `card` (a Card or its id): see the module docstring."""
    card_id = card if isinstance(card, str) else card.id
    return grade_with(compiled_rubrics().get(card_id), answer, lang)


# ---------------------------------------------------------------------------------------------
# the learner's confirmation -> an FSRS rating

AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4  # fsrs.Rating values


def confirmed_rating(n_points: int, n_confirmed: int, misconception: bool = False, easy: bool = False) -> int:
    """The rating of the points the learner ticks: all (and no misconception) -> Good (Easy when
    they say so), at least half -> Hard, fewer -> Again. A misconception the learner keeps caps at Hard."""
    if n_points <= 0:
        return GOOD
    if n_confirmed >= n_points and not misconception:
        return EASY if easy else GOOD
    if 2 * n_confirmed >= n_points:
        return HARD
    return AGAIN


__all__ = ["VERDICTS", "CompiledRubric", "Pattern", "Verdict", "answer_lang", "clauses", "compile_pattern",
           "compile_rubric", "compiled_rubrics", "confirmed_rating", "grade", "grade_with", "keyword_list",
           "normalize", "pattern_in_clause", "rubric_for", "sentences"]
