"""Property-based tests (hypothesis): any input in, a result or a clear error out, never a crash.

Extends the existing properties (tests/test_questions_search.py: any string -> a list of hits;
tests/test_study_scoring.py: any answer -> coverage in [0, 1]) with:

* the YAML validator (questions.bank.load_bank / questions.validate.report): arbitrary text,
  arbitrary YAML structures and mutated cards written to a temp dir -> problems, each `file:line:
  reason` with a line inside the file; it never raises. The learner's YAML import
  (study.export.parse_import): any bytes -> cards or ImportRejected with readable reasons.
* search: queries built from the bank's own words mixed with markup/LaTeX/emoji, any `lang`,
  `top`, `min_ratio` -> sorted, bounded, deterministic hits in the requested language.
* the keyword scorer: any keyword groups (empty groups, empty or odd phrasings) and any answer;
  an answer that IS a phrasing always hits its group.
* the model's text input, exactly as the demo pages call it: attention (split_text + traced run,
  random and trained model), masks (parse_batch + run), shapes (parse_sentences + run_trace),
  generation (parse_input + greedy), plus tokenize -> HashVocab.to_tensor -> Transformer forward:
  any string -> tensors of the right shape or a ValueError with a clear message.
"""
from __future__ import annotations

import re
import tempfile
from io import StringIO
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from questions.bank import load_bank
from questions.schema import Card
from questions.search import search
from questions.validate import report
from study.export import ImportRejected, parse_import
from study.scoring import AGAIN, GOOD, HARD, normalize, score_answer

ROOT = Path(__file__).resolve().parents[1]
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models: one intra-op thread is far faster than several on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

# Text a person (or an attacker) may type: every Unicode category Python strings can be encoded
# from a browser (no lone surrogates: a browser sends U+FFFD instead), weighted towards markup.
HOSTILE = ["<script>window.__pwned=1</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
           "$$\\frac{", "{{ x }}", "%s %d {0}", "\x00", "\u200b\ufeff", "\u202e", "😀🤖", "注意力", "ｆｕｌｌ",
           "\r\n", "\t", "- id: x", ": :", "&amp;", "'; DROP TABLE reviews; --", "\\", "\n---\n"]
any_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), max_size=12).map("".join),
)


# ---------------------------------------------------------------------------------------------
# The YAML validator

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): \S")


def _valid_card(cid: str = "good-card") -> dict:
    return {"id": cid, "topic": "attention", "difficulty": 2, "source": "supplement",
            "question": {"zh": "什么是注意力？", "en": "What is attention?"},
            "answer": {"zh": "答案 $x$", "en": "An answer with $y$."},
            "keywords": {"zh": [["注意力", "attention"]], "en": [["attention"]]}}


def _yaml_lines(text: str) -> int:
    """Lines as YAML (and so an editor) counts them: CRLF, a lone CR, LF, NEL, LS and PS each end
    a line; one more for a last line without a break."""
    return len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1


def _check_bank_dir(text_or_bytes: str | bytes, name: str = "attention.yaml") -> list:
    """Write one file, load the bank; assert the problems' shape; return them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if isinstance(text_or_bytes, bytes):
            path.write_bytes(text_or_bytes)
            n_lines = _yaml_lines(text_or_bytes.decode("utf-8", errors="replace"))
        else:
            path.write_text(text_or_bytes, encoding="utf-8")
            n_lines = _yaml_lines(path.read_bytes().decode("utf-8"))
        bank = load_bank(tmp)  # must not raise
        out = StringIO()
        code = report(tmp, out=out)
        assert code == (1 if bank.problems or not bank.cards else 0)  # a folder without cards is not green
    for p in bank.problems:
        assert p.file == name
        assert 0 <= p.line <= n_lines, (p, n_lines)
        assert p.reason.strip()
        assert LINE.match(str(p)), str(p)
    if bank.problems:
        printed = out.getvalue().splitlines()
        assert all(LINE.match(ln) for ln in printed[:len(bank.problems)]), printed
    return bank.problems


@PROPS
@given(any_text)
def test_validator_any_text_gives_problems_with_file_and_line(text: str) -> None:
    _check_bank_dir(text)


@FEW
@given(st.binary(max_size=200))
@example(b"\r!")  # a lone CR is a line break to YAML: line 2 exists (found by a fresh seed in CI)
def test_validator_any_bytes(data: bytes) -> None:
    problems = _check_bank_dir(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert [p.line for p in problems] == [0] and "cannot read file" in problems[0].reason


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["attention", "supplement", "good-card", "TODO", "$x"]))
structures = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(
        ["id", "topic", "question", "answer", "keywords", "zh", "en", "related", "demo", "aliases"])),
        kids, max_size=4)), max_leaves=20)


@PROPS
@given(structures)
def test_validator_any_yaml_structure(value) -> None:
    _check_bank_dir(yaml.safe_dump(value, allow_unicode=True, sort_keys=False))


FIELDS = ["id", "topic", "difficulty", "source", "question", "answer", "keywords", "related", "aliases",
          "demo", "corrections", "extra_field"]


@PROPS
@given(st.lists(st.tuples(st.sampled_from(FIELDS), structures), max_size=3), st.integers(1, 3))
def test_validator_mutated_cards_point_at_their_lines(mutations, n_cards: int) -> None:
    cards = [_valid_card(f"card-{i}") for i in range(n_cards)]
    target = cards[-1]
    for field, value in mutations:
        target[field] = value
    text = yaml.safe_dump(cards, allow_unicode=True, sort_keys=False)
    problems = _check_bank_dir(text)
    # the untouched cards are valid, so every problem is on or after the mutated card's first line
    first_line = max(i for i, ln in enumerate(text.splitlines(), start=1) if ln.startswith("- "))
    assert all(p.line >= first_line or p.line == 0 for p in problems), (problems, text)
    if not mutations:
        assert problems == []


@PROPS
@given(st.one_of(st.binary(max_size=300), any_text.map(lambda s: s.encode("utf-8")),
                 structures.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode("utf-8"))))
def test_import_any_bytes_gives_cards_or_reasons(data: bytes) -> None:
    try:
        cards = parse_import(data, reserved_ids={"why-multi-head"})
    except ImportRejected as exc:
        assert exc.errors and all(isinstance(e, str) and e.strip() for e in exc.errors)
        assert str(exc)
    else:
        assert cards and all(Card.model_validate(c).id == c["id"] for c in cards)


def test_import_payload_card_is_refused() -> None:
    """A card carrying HTML/script in its text is refused by the CommonMark judge (raw HTML)."""
    card = _valid_card("my-card")
    card["question"]["en"] = "<script>window.__pwned=1</script> <img src=x onerror=\"window.__pwned=1\">"
    with pytest.raises(ImportRejected) as exc:
        parse_import(yaml.safe_dump([card], allow_unicode=True).encode())
    assert exc.value.errors and all("question.en" in e and "HTML" in e for e in exc.value.errors)


# ---------------------------------------------------------------------------------------------
# Search

@pytest.fixture(scope="module")
def bank():
    b = load_bank(ROOT / "questions")
    assert b.cards and not b.problems
    return b


def _bank_words() -> list[str]:
    b = load_bank(ROOT / "questions")
    words: set[str] = set()
    for c in b.cards[:60]:
        words.update(c.question.en.split()[:6])
        words.update(c.question.zh[:8])
    return sorted(words)


BANK_WORDS = _bank_words()
queries = st.lists(st.one_of(st.sampled_from(BANK_WORDS), st.sampled_from(HOSTILE), st.text(max_size=8)),
                   min_size=1, max_size=10).map(" ".join)


@PROPS
@given(queries, st.sampled_from([None, "zh", "en", "fr", ""]), st.integers(-2, 15),
       st.floats(0, 1.5, allow_nan=False))
def test_search_composed_queries(bank, query: str, lang, top: int, min_ratio: float) -> None:
    hits = search(bank, query, lang=lang, top=top, min_ratio=min_ratio)
    assert isinstance(hits, list) and len(hits) <= max(top, 0)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({h.id for h in hits}) == len(hits)
    assert all(s > 0 for s in scores)
    if hits:
        assert min(scores) >= min_ratio * scores[0] - 1e-9
    for h in hits:
        want = lang if lang in ("zh", "en") else None
        if want:
            assert h.question == h.card.question.get(want)
    assert [h.id for h in search(bank, query, lang=lang, top=top, min_ratio=min_ratio)] == [h.id for h in hits]


@FEW
@given(st.sampled_from(range(200)))
def test_search_finds_a_card_by_its_own_question(bank, i: int) -> None:
    card = bank.cards[i % len(bank.cards)]
    for lang in ("en", "zh"):
        ids = [h.id for h in search(bank, card.question.get(lang), lang=lang, top=5)]
        assert card.id in ids, (card.id, lang, ids)


# ---------------------------------------------------------------------------------------------
# The keyword scorer

groups = st.lists(st.lists(st.one_of(st.text(max_size=15), st.sampled_from(HOSTILE)), max_size=4), max_size=6)


@PROPS
@given(any_text, groups)
def test_scorer_any_groups_any_answer(text: str, keyword_groups) -> None:
    s = score_answer(text, keyword_groups)
    assert len(s.hit) + len(s.missed) == len(keyword_groups)
    assert s.coverage == (len(s.hit) / len(keyword_groups) if keyword_groups else 0.0)
    assert s.suggested_rating in (AGAIN, HARD, GOOD)
    assert len(s.matched) == len(s.hit)
    assert all(m in g for m, g in zip(s.matched, s.hit, strict=True))
    assert 0 <= s.percent <= 100


@PROPS
@given(st.text(min_size=1, max_size=80), groups)
def test_scorer_answer_equal_to_a_phrasing_hits_its_group(phrase: str, others) -> None:
    assume(normalize(phrase))
    s = score_answer(phrase, [[phrase], *others])
    assert [phrase] in s.hit


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(HOSTILE), st.integers(0, 3))
def test_scorer_huge_answer(fragment: str, k: int) -> None:
    s = score_answer(fragment * 30_000 + " LayerNorm", [["LayerNorm"]] * (k + 1))
    assert s.coverage == 0.0  # only the first MAX_CHARS characters count; the tail is not read


# ---------------------------------------------------------------------------------------------
# The model's text input, as the demo pages use it

def _clear(exc: ValueError) -> str:
    msg = str(exc)
    assert msg.strip(), "a ValueError without a message"
    return msg


@pytest.fixture(scope="module")
def attention_models():
    from demos import attention as A

    random_lm = A.random_model(d_k=4, n_heads=2)
    return A, random_lm, A.trained_model()


@MODEL
@given(any_text)
def test_tokenize_hashvocab_forward(text: str) -> None:
    from model import HashVocab, Transformer, TransformerConfig
    from model.vocab import tokenize

    net = _tiny_net()
    vocab = HashVocab(64)
    try:
        toks = tokenize(text)
    except ValueError as exc:
        assert not text.split() and "empty" in _clear(exc)
        return
    assert all(t and not t.isspace() for t in toks)
    toks = toks[: net.cfg.max_len]
    shown, ids = vocab.to_tensor(toks)
    assert shown == toks and ids.shape == (1, len(toks)) and ids.dtype == torch.long
    assert int(ids.min()) >= 0 and int(ids.max()) < 64
    with torch.inference_mode():
        logits = net(ids, ids)
    assert logits.shape == (1, len(toks), 64) and torch.isfinite(logits).all()
    assert isinstance(Transformer, type) and isinstance(TransformerConfig, type)


_NET = []


def _tiny_net():
    if not _NET:
        from model import Transformer, TransformerConfig

        cfg = TransformerConfig(src_vocab_size=64, tgt_vocab_size=64, d_model=8, n_heads=2, n_layers=1, d_ff=16,
                                dropout=0.0, seed=0)
        _NET.append(Transformer(cfg).eval())
    return _NET[0]


@MODEL
@given(any_text, st.one_of(st.none(), any_text))
def test_attention_page_input(attention_models, sentence: str, target) -> None:
    A, random_lm, trained_lm = attention_models
    for lm in (random_lm, trained_lm) if trained_lm is not None else (random_lm,):
        try:
            src = A.split_text(sentence, lm)
        except A.InputError as exc:
            assert exc.code == "empty" and not sentence.replace("\x00", "")[: A.MAX_CHARS].strip()
            continue
        assert 1 <= len(src.tokens) <= A.max_tokens(lm)
        assert set(src.notes) <= {"cut_chars", "cut_tokens", "unknown"}
        tgt = None
        if target is not None:
            try:
                tgt = A.split_text(target, lm, side="tgt").tokens
            except A.InputError as exc:
                assert exc.code == "empty"
        run = A.run(lm, src.tokens, tgt)
        w = run.attn("enc_self", 0).weights
        assert tuple(w.shape[-2:]) == (len(src.tokens), len(src.tokens))
        assert torch.isfinite(torch.as_tensor(w)).all()
        assert len(run.predicted) == len(run.tgt_tokens)


@MODEL
@given(st.one_of(any_text, st.lists(any_text, max_size=8).map("\n".join)))
def test_masks_page_input(text: str) -> None:
    from demos import masks as M

    try:
        batch = M.parse_batch(text)
    except M.BatchError as exc:
        assert exc.code == "empty"
        assert not text[: M.MAX_CHARS].strip()
        return
    B, T = batch.ids.shape
    assert 1 <= B <= M.MAX_SENTENCES and 1 <= T <= M.MAX_TOKENS
    assert batch.lengths and all(1 <= n <= T for n in batch.lengths) and max(batch.lengths) == T
    for b, n in enumerate(batch.lengths):  # right-padded with id 0
        assert (batch.ids[b, n:] == 0).all() and (batch.ids[b, :n] != 0).all()
    trace = M.run(batch.ids)
    assert trace is not None


@MODEL
@given(st.one_of(st.none(), any_text, st.lists(any_text, max_size=10).map("|".join)))
def test_shapes_page_input(text) -> None:
    from demos import shapes as D

    sentences = D.parse_sentences(text)
    assert all(s and all(t.strip() for t in s) for s in sentences)
    if not sentences:
        return
    tr = D.run_trace(d_model=8, heads=2, layers=1, sentences=sentences)
    B = min(len(sentences), D.MAX_B)
    S = max(len(s[: D.MAX_LEN]) for s in sentences[: D.MAX_B])
    assert tr.values["B"] == B and tr.values["S"] == S
    assert len(tr.src_tokens) == B and all(len(row) == S for row in tr.src_tokens)


@pytest.fixture(scope="module")
def generation_models():
    from model.checkpoint import CheckpointError, load_checkpoint

    out = {}
    for task in ("translate", "copy"):
        try:
            out[task] = load_checkpoint(task)
        except CheckpointError:
            continue
    if not out:
        pytest.skip("no shipped checkpoints")
    return out


@FEW
@given(any_text)
def test_generation_page_input(generation_models, text: str) -> None:
    from demos import generation as G

    for task, (net, (sv, tv), _meta) in generation_models.items():
        parsed = G.parse_input(text, task)
        assert parsed.error in (None, "empty", "unknown", "too_long")
        if parsed.error == "empty":
            assert not text[: G.MAX_INPUT_CHARS].strip()
        elif parsed.error == "unknown":
            assert parsed.unknown and all(u.strip() for u in parsed.unknown)
        elif parsed.error is None:
            assert 1 <= len(parsed.tokens) <= parsed.max_tokens
            steps = G.greedy_steps(net, sv, tv, parsed.tokens, max_len=4)
            assert 1 <= len(steps) <= 4 and steps[0].cross.shape[-1] == len(parsed.tokens)


def test_import_rejects_markdown_images() -> None:
    """Cards render as Markdown: an image would make every viewer's browser fetch the author's URL."""
    card = _valid_card("my-card")
    card["answer"]["en"] = "see ![x](http://127.0.0.1:9/x.png)"
    with pytest.raises(ImportRejected) as exc:
        parse_import(yaml.safe_dump([card], allow_unicode=True).encode())
    [error] = exc.value.errors
    assert error.startswith("line ") and "card 1 ('my-card'): answer.en: image" in error
