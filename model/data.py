"""Toy tasks for the training lab, generated in code (no downloads).

Every task yields pairs of token lists (source, target) from a seeded random.Random, so the
training stream and the held-out examples are reproducible and disjoint in seed:

  copy       5 3 8        -> 5 3 8          (digits, length 1..MAX_DIGITS, padded in batches)
  reverse    5 3 8        -> 8 3 5
  sort       5 3 8 3      -> 3 3 5 8
  translate  我 现在 爱 你 -> I love you now  (a tiny Chinese -> English grammar with reordering)

The translation grammar (about 50 Chinese and 70 English words) is built so that cross-attention
has to learn a non-monotonic alignment:
  * the time adverb moves from before the verb (or the very front) to the end:
        我 现在 爱 你            -> I love you now
        他 昨天 在 北京 吃 面条   -> he ate noodles in beijing yesterday
  * the place phrase moves after the object (在 北京 -> in beijing, 在 家 -> at home);
  * the time sets the tense (昨天 -> past, 明天 -> "will", 现在 / 每天 -> present), the subject
    sets the agreement (he eats / I eat), negation picks do / does / did not (不 / 没);
  * pronouns change case as objects (他 -> he as subject, him as object).

API
    task = TASKS["translate"]
    task.sample(rng) -> (src_tokens, tgt_tokens)
    examples(name, n, seed) -> list of pairs
    task.src_tokens / task.tgt_tokens: every token the task can produce (vocabularies)
    segment(text, words): split typed text into known words (spaces optional for Chinese)
    reference_translation(tokens) -> English tokens, or None when the sentence is not in the grammar
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Task", "TASKS", "TASK_NAMES", "DIGITS", "MAX_DIGITS", "examples", "segment",
           "reference_translation", "TRAIN_SEED", "EVAL_SEED"]

TRAIN_SEED = 1234        # training stream
EVAL_SEED = 98765        # held-out examples (fresh sentences from another stream)
DIGITS = [str(i) for i in range(10)]
MAX_DIGITS = 8


@dataclass(frozen=True)
class Task:
    name: str
    sample: Callable[[random.Random], tuple[list[str], list[str]]]
    src_tokens: tuple[str, ...]
    tgt_tokens: tuple[str, ...]
    example: str                       # default input shown in the pages
    max_src_len: int
    max_tgt_len: int


def _digits(rng: random.Random) -> list[str]:
    return [rng.choice(DIGITS) for _ in range(rng.randint(1, MAX_DIGITS))]


def _copy(rng: random.Random):
    s = _digits(rng)
    return s, list(s)


def _reverse(rng: random.Random):
    s = _digits(rng)
    return s, s[::-1]


def _sort(rng: random.Random):
    s = _digits(rng)
    return s, sorted(s)


# ----------------------------------------------------------------------------------------------
# The translation grammar

# subject: zh -> (English subject, English object form, third person singular?)
SUBJECTS: dict[str, tuple[str, str, bool]] = {
    "我": ("I", "me", False), "你": ("you", "you", False), "他": ("he", "him", True),
    "她": ("she", "her", True), "我们": ("we", "us", False), "他们": ("they", "them", False),
}
# time: zh -> (English tokens, tense)
TIMES: dict[str, tuple[tuple[str, ...], str]] = {
    "现在": (("now",), "present"), "今天": (("today",), "present"), "每天": (("every", "day"), "present"),
    "昨天": (("yesterday",), "past"), "去年": (("last", "year"), "past"),
    "明天": (("tomorrow",), "future"), "明年": (("next", "year"), "future"),
}
# verb: zh -> (base, 3rd singular, past, objects zh -> en)
_THINGS_EAT = {"面条": "noodles", "米饭": "rice", "苹果": "apples", "饺子": "dumplings"}
_THINGS_DRINK = {"茶": "tea", "咖啡": "coffee", "水": "water", "牛奶": "milk"}
_LIKABLE = {"猫": "cats", "音乐": "music", "茶": "tea", "苹果": "apples", "电影": "movies"}
VERBS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "爱": ("love", "loves", "loved", {**_LIKABLE, "PERSON": ""}),
    "喜欢": ("like", "likes", "liked", {**_LIKABLE, "PERSON": ""}),
    "吃": ("eat", "eats", "ate", _THINGS_EAT),
    "喝": ("drink", "drinks", "drank", _THINGS_DRINK),
    "看": ("watch", "watches", "watched", {"电影": "movies", "电视": "tv", "比赛": "games"}),
    "买": ("buy", "buys", "bought", {"书": "books", "苹果": "apples", "衣服": "clothes", "牛奶": "milk"}),
    "写": ("write", "writes", "wrote", {"信": "letters", "代码": "code", "书": "books"}),
    "学": ("learn", "learns", "learned", {"中文": "chinese", "英语": "english", "数学": "math"}),
}
# place: zh noun -> (English preposition, noun)
PLACES: dict[str, tuple[str, str]] = {
    "北京": ("in", "beijing"), "上海": ("in", "shanghai"), "家": ("at", "home"), "学校": ("at", "school"),
}
NEG_PRESENT, NEG_PAST = "不", "没"


_SAME_PERSON = ({"我", "我们"}, {"你"}, {"他"}, {"她"}, {"他们"})


def _may_be_object(subj: str, obj: str) -> bool:
    """No reflexives in this grammar: 我 爱 我 / 我们 爱 我 are left out."""
    return not any(subj in g and obj in g for g in _SAME_PERSON)


def _english(subj: str, time: str | None, place: str | None, neg: bool, verb: str, obj: str) -> list[str]:
    """The English sentence of one parsed Chinese sentence (all arguments are Chinese words)."""
    s_en, _, third = SUBJECTS[subj]
    base, s3, past, objects = VERBS[verb]
    tense = TIMES[time][1] if time else "present"
    if obj in SUBJECTS and "PERSON" in objects:
        o_en = SUBJECTS[obj][1]
    else:
        o_en = objects[obj]
    if tense == "future":
        vp = ["will", "not", base] if neg else ["will", base]
    elif tense == "past":
        vp = ["did", "not", base] if neg else [past]
    elif neg:
        vp = ["does" if third else "do", "not", base]
    else:
        vp = [s3 if third else base]
    out = [s_en, *vp, o_en]
    if place:
        out += list(PLACES[place])
    if time:
        out += list(TIMES[time][0])
    return out


def _translate(rng: random.Random):
    subj = rng.choice(list(SUBJECTS))
    time = rng.choice(list(TIMES)) if rng.random() < 0.8 else None
    place = rng.choice(list(PLACES)) if rng.random() < 0.4 else None
    verb = rng.choice(list(VERBS))
    objects = [o for o in VERBS[verb][3] if o != "PERSON"]
    if "PERSON" in VERBS[verb][3]:
        objects += [p for p in SUBJECTS if _may_be_object(subj, p)]
    obj = rng.choice(objects)
    neg = rng.random() < 0.2
    tense = TIMES[time][1] if time else "present"
    zh: list[str] = []
    front = time is not None and rng.random() < 0.3       # 昨天 我 ... (time first)
    if front:
        zh.append(time)
    zh.append(subj)
    if time and not front:
        zh.append(time)
    if neg:
        zh.append(NEG_PAST if tense == "past" else NEG_PRESENT)
    if place:
        zh += ["在", place]
    zh += [verb, obj]
    return zh, _english(subj, time, place, neg, verb, obj)


def reference_translation(tokens: list[str]) -> list[str] | None:
    """The grammar's English for a Chinese token list, or None when it is not a grammar sentence."""
    toks = list(tokens)
    time = None
    if toks and toks[0] in TIMES:
        time = toks.pop(0)
    if not toks or toks[0] not in SUBJECTS:
        return None
    subj = toks.pop(0)
    if time is None and toks and toks[0] in TIMES:
        time = toks.pop(0)
    tense = TIMES[time][1] if time else "present"
    neg = False
    if toks and toks[0] in (NEG_PRESENT, NEG_PAST):
        if toks[0] != (NEG_PAST if tense == "past" else NEG_PRESENT):
            return None
        neg = True
        toks.pop(0)
    place = None
    if len(toks) >= 2 and toks[0] == "在" and toks[1] in PLACES:
        place = toks[1]
        toks = toks[2:]
    if len(toks) != 2 or toks[0] not in VERBS:
        return None
    verb, obj = toks
    objects = VERBS[verb][3]
    ok = obj in objects or ("PERSON" in objects and obj in SUBJECTS and _may_be_object(subj, obj))
    if not ok:
        return None
    return _english(subj, time, place, neg, verb, obj)


def _zh_words() -> list[str]:
    words = [*SUBJECTS, *TIMES, NEG_PRESENT, NEG_PAST, "在", *PLACES, *VERBS]
    for _, _, _, objs in VERBS.values():
        words += [o for o in objs if o != "PERSON"]
    return list(dict.fromkeys(words))


def _en_words() -> list[str]:
    words: list[str] = []
    for s_en, o_en, _ in SUBJECTS.values():
        words += [s_en, o_en]
    for base, s3, past, objs in VERBS.values():
        words += [base, s3, past, *(o for o in objs.values() if o)]
    words += ["will", "do", "does", "did", "not"]
    for prep, noun in PLACES.values():
        words += [prep, noun]
    for en, _ in TIMES.values():
        words += list(en)
    return list(dict.fromkeys(words))


ZH_WORDS = tuple(_zh_words())
EN_WORDS = tuple(_en_words())

TASKS: dict[str, Task] = {
    "copy": Task("copy", _copy, tuple(DIGITS), tuple(DIGITS), "3 1 4 1 5 9 2", MAX_DIGITS, MAX_DIGITS),
    "reverse": Task("reverse", _reverse, tuple(DIGITS), tuple(DIGITS), "3 1 4 1 5 9 2", MAX_DIGITS, MAX_DIGITS),
    "sort": Task("sort", _sort, tuple(DIGITS), tuple(DIGITS), "3 1 4 1 5 9 2", MAX_DIGITS, MAX_DIGITS),
    "translate": Task("translate", _translate, ZH_WORDS, EN_WORDS, "我 现在 爱 你", 8, 10),
}
TASK_NAMES = tuple(TASKS)


def examples(name: str, n: int, seed: int = EVAL_SEED) -> list[tuple[list[str], list[str]]]:
    """n pairs of the task from a fresh random stream seeded with `seed`."""
    rng = random.Random(f"{name}:{seed}")
    sample = TASKS[name].sample
    return [sample(rng) for _ in range(n)]


def segment(text: str, words: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split typed text into known words: whitespace first, then longest-match within each chunk
    (so 我现在爱你 works without spaces; digits may be typed as 31415). Returns (tokens, unknown
    pieces); an unknown piece is the shortest run that matches no word at that point."""
    vocab = set(words)
    longest = max((len(w) for w in vocab), default=1)
    tokens: list[str] = []
    unknown: list[str] = []
    for chunk in text.split():
        i = 0
        while i < len(chunk):
            for L in range(min(longest, len(chunk) - i), 0, -1):
                piece = chunk[i:i + L]
                if piece in vocab:
                    tokens.append(piece)
                    i += L
                    break
            else:
                # collect the unknown run up to the next position where some word starts
                j = i + 1
                while j < len(chunk) and not any(chunk[j:j + L] in vocab for L in range(1, longest + 1)):
                    j += 1
                unknown.append(chunk[i:j])
                tokens.append(chunk[i:j])
                i = j
    return tokens, unknown
