"""Shape tracer: the shapes shown are the real tensors' shapes, and they follow B, S, T, h, d_model."""
from __future__ import annotations

import functools

import pytest

from demos import shapes as D
from i18n import t
from model import Transformer, TransformerConfig
from questions.schema import DEMO_SECTIONS
from tests.apptest import open_page


def _by_name(st: D.ShapeTrace) -> dict[str, D.Step]:
    return {s.name: s for s in st.steps}


@pytest.mark.parametrize("B,S,T,d_model,heads,layers", [
    (2, 5, 4, 64, 4, 2), (1, 1, 1, 16, 1, 1), (3, 7, 2, 32, 8, 3), (5, 3, 9, 128, 2, 1),
])
def test_shapes_equal_the_traces_tensors(B, S, T, d_model, heads, layers) -> None:
    st = D.run_trace(B, S, T, d_model, heads, layers)
    tr, steps = st.trace, _by_name(st)
    d_k = d_model // heads
    for i in range(layers):
        enc, dec = tr.encoder[i], tr.decoder[i]
        a = enc.self_attn
        assert steps[f"enc{i} Q"].shape == tuple(a.q.shape) == (B, heads, S, d_k)
        assert steps[f"enc{i} K"].shape == tuple(a.k.shape)
        assert steps[f"enc{i} scores"].shape == tuple(a.scores.shape) == (B, heads, S, S)
        assert steps[f"enc{i} weights"].shape == tuple(a.weights.shape)
        assert steps[f"enc{i} context"].shape == tuple(a.context.shape)
        assert steps[f"enc{i} attn out"].shape == tuple(a.output.shape) == (B, S, d_model)
        assert steps[f"enc{i} FFN hidden"].shape == tuple(enc.ffn_hidden.shape) == (B, S, 4 * d_model)
        assert steps[f"enc{i} add & norm 2"].shape == tuple(enc.sublayers[1].out.shape)
        s, c = dec.self_attn, dec.cross_attn
        assert steps[f"dec{i} self scores"].shape == tuple(s.scores.shape) == (B, heads, T, T)
        assert steps[f"dec{i} cross Q"].shape == tuple(c.q.shape) == (B, heads, T, d_k)
        assert steps[f"dec{i} cross K"].shape == tuple(c.k.shape) == (B, heads, S, d_k)
        assert steps[f"dec{i} cross scores"].shape == tuple(c.scores.shape) == (B, heads, T, S)
        assert steps[f"dec{i} FFN hidden"].shape == tuple(dec.ffn_hidden.shape)
    assert steps["src tokens"].shape == tuple(tr.embeddings["src"]["tokens"].shape) == (B, S)
    assert steps["src embedding"].shape == tuple(tr.embeddings["src"]["raw"].shape)
    assert steps["memory"].shape == tuple(tr.memory.shape) == (B, S, d_model)
    assert steps["logits"].shape == tuple(tr.logits.shape) == (B, T, D.VOCAB)
    # the rows are the trace's own record, in order, and every symbolic shape evaluates to it
    assert [(s.name, s.shape) for s in st.steps] == [(n, tuple(x)) for n, x in tr.shapes]
    for s in st.steps:
        assert D.evaluate(s.symbols, st.values) == s.shape, s.name
    assert len([s for s in st.steps if s.name.endswith(" Q")]) == 3 * layers


def test_shapes_change_with_the_widgets() -> None:
    base = _by_name(D.run_trace(2, 5, 4, 64, 4, 2))
    more_b = _by_name(D.run_trace(3, 5, 4, 64, 4, 2))
    more_h = _by_name(D.run_trace(2, 5, 4, 64, 8, 2))
    longer = _by_name(D.run_trace(2, 9, 4, 64, 4, 2))
    assert base["enc0 Q"].shape == (2, 4, 5, 16)
    assert more_b["enc0 Q"].shape == (3, 4, 5, 16)
    assert more_h["enc0 Q"].shape == (2, 8, 5, 8)                 # h up, d_k down, d_model kept
    assert more_h["enc0 concat heads"].shape == base["enc0 concat heads"].shape == (2, 5, 64)
    assert longer["enc0 scores"].shape == (2, 4, 9, 9)
    assert longer["dec0 cross scores"].shape == (2, 4, 4, 9)
    assert longer["dec0 self scores"].shape == base["dec0 self scores"].shape == (2, 4, 4, 4)


@pytest.mark.parametrize("cfg", [(2, 5, 4, 64, 4, 2), (8, 16, 16, 512, 8, 4), (3, 7, 2, 256, 2, 3)])
def test_meta_device_records_the_same_shapes_as_a_real_forward(cfg) -> None:
    real, meta = D.run_trace(*cfg), D.run_trace(*cfg, device="meta")
    assert [(s.name, s.shape, s.symbols) for s in meta.steps] == [(s.name, s.shape, s.symbols) for s in real.steps]
    assert meta.values == real.values and meta.src_tokens == real.src_tokens
    sents = [["我", "爱", "你"], ["the", "cat"]]
    assert [s.shape for s in D.run_trace(d_model=512, sentences=sents, device="meta").steps] == \
        [s.shape for s in D.run_trace(d_model=512, sentences=sents).steps]


def test_the_page_uses_the_meta_device_only_for_big_models() -> None:
    assert D.approx_params(64, 2) < D.META_ABOVE_PARAMS < D.approx_params(512, 1)
    net = Transformer(TransformerConfig(src_vocab_size=50, tgt_vocab_size=50, d_model=64, n_heads=4, n_layers=2,
                                        d_ff=256))
    layers = sum(p.numel() for n, p in net.named_parameters() if ".layers." in n)
    assert abs(D.approx_params(64, 2) - layers) / layers < 0.05


def test_typed_sentences_set_b_and_s() -> None:
    sents = D.parse_sentences("我 爱 你 | the cat sat on the mat |  | hi")
    assert sents == [["我", "爱", "你"], ["the", "cat", "sat", "on", "the", "mat"], ["hi"]]
    st = D.run_trace(sentences=sents, T=3)
    assert st.values["B"] == 3 and st.values["S"] == 6
    assert _by_name(st)["src tokens"].shape == (3, 6)
    assert st.src_tokens[0] == ["我", "爱", "你", "<pad>", "<pad>", "<pad>"]
    # padding is masked: the padded keys of sentence 0 get zero weight
    w = st.trace.encoder[0].self_attn.weights[0]
    assert float(w[..., 3:].abs().max()) == 0.0
    assert D.parse_sentences("") == [] and D.parse_sentences(" | \n ") == []
    many = D.run_trace(sentences=D.parse_sentences("|".join(["a b"] * 20)))
    assert many.values["B"] == D.MAX_B


def test_typed_batch_sizes_and_cut_notice() -> None:
    typed = D.parse_sentences("我 爱 你 | the cat sat on the mat")
    assert D.typed_sizes(typed) == (2, 6)
    assert D.typed_batch(typed) == (("我", "爱", "你"), ("the", "cat", "sat", "on", "the", "mat"))
    assert D.typed_batch([]) is None
    assert not D.sentences_cut("我 爱 你 | the cat sat on the mat", typed)
    many = D.parse_sentences("|".join(["a b"] * 10))
    assert D.typed_sizes(many) == (D.MAX_B, 2) and len(D.typed_batch(many)) == D.MAX_B
    assert D.sentences_cut("|".join(["a b"] * 10), many)
    long = [["w"] * (D.MAX_LEN + 3)]
    assert D.typed_sizes(long) == (1, D.MAX_LEN) and len(D.typed_batch(long)[0]) == D.MAX_LEN
    assert D.sentences_cut(" ".join(long[0]), long)
    assert D.sentences_cut("a" * D.MAX_SENTENCE_CHARS, [["a"]])


def test_page_trace_drops_the_tensors_and_uses_meta_for_big_models() -> None:
    small = D.page_trace(2, 5, 4, 64, 4, 2, (("a", "b"), ("c",)))
    assert small.trace is None and small.values["B"] == 2 and small.values["S"] == 2
    assert [s.shape for s in small.steps] == [s.shape for s in D.run_trace(2, 5, 4, 64, 4, 2, [["a", "b"], ["c"]]).steps]
    big = D.page_trace(2, 5, 4, 512, 8, 1, None)                 # ~7M weights: traced on the meta device
    assert big.trace is None and big.values["d_model"] == 512


def test_random_quiz_sizes_are_all_different() -> None:
    import random

    for seed in range(30):
        v = D.random_sizes(random.Random(seed))
        nums = [v["B"], v["S"], v["T"], v["heads"], v["d_model"] // v["heads"], v["d_model"]]
        assert len(set(nums)) == 6 and v["d_model"] % v["heads"] == 0 and 1 <= v["layers"] <= 3
        assert v["d_model"] in D.D_MODEL_OPTIONS[:4] and v["heads"] in D.HEAD_OPTIONS
    assert D.random_sizes(random.Random(4)) == D.random_sizes(random.Random(4))


def test_quiz_guesses() -> None:
    vals = D.run_trace(2, 5, 4, 64, 4, 2).values
    shape = (2, 4, 5, 16)
    for good in ("(2, 4, 5, 16)", "2,4,5,16", "2x4x5x16", "[2 4 5 16]", "B, h, S, d_k", "b×h×s×dk",
                 "torch.Size([2, 4, 5, 16])", " ( B , h , S , 16 ) "):
        assert D.check_guess(good, shape, vals) is True, good
    for wrong in ("(2, 5, 4, 16)", "B, h, T, d_k", "2, 4, 5", "B, S, d_model"):
        assert D.check_guess(wrong, shape, vals) is False, wrong
    for unreadable in ("", "   ", "hello", "<script>", "🙂", "x" * 500, "()"):
        assert D.check_guess(unreadable, shape, vals) is None, unreadable
    assert D.parse_guess("B, T, V", vals) == (2, 4, 1000)
    assert D.parse_guess("d_model, d_ff", vals) == (64, 256)


def test_quiz_steps_cover_every_kind_of_step() -> None:
    st = D.run_trace(2, 5, 4, 64, 4, 2)
    q = D.quiz_steps(st)
    assert [s.name for s in q] == list(D.QUIZ_STEPS)
    assert {s.symbols for s in q} >= {("B", "S"), ("B", "h", "S", "S"), ("B", "h", "T", "S"), ("B", "T", "V")}


# ----------------------------------------------------------------------------------------------
# The page

_page = functools.partial(open_page, "shapes", timeout=90, check_exceptions=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["shapes"])
def test_page_sections_render(lang: str, section: str) -> None:
    at = _page(lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_shapes", lang) in [e.value for e in at.title]
    assert len(at.get("plotly_chart")) == 1


def test_page_table_reads_the_trace() -> None:
    at = _page("en", section="trace", B="3", S="6", heads="2", compact="0")
    assert not at.exception, [e.value for e in at.exception]
    df = at.dataframe[0].value
    shapes = dict(zip(df["name in the trace"], df["shape"], strict=True))
    assert shapes["enc0 Q"] == "(3, 2, 6, 32)"
    assert shapes["dec1 cross scores"] == "(3, 2, 4, 6)"
    assert shapes["logits"] == f"(3, 4, {D.VOCAB})"


@pytest.mark.parametrize("text", ["", "<script>alert(1)</script> | <b>x</b>", "🙂 🙃 | 😀", "好" * 10_000],
                         ids=["empty", "html", "emoji", "10k-chars"])
def test_page_typed_sentences(text: str) -> None:
    at = _page("en", section="trace")
    at.text_input(key="shapes:sentences").set_value(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("<script>" in m.value for m in at.markdown)


def test_quiz_checks_and_scores() -> None:
    at = _page("en", section="quiz")
    inputs = [ti for ti in at.text_input if ti.key and ti.key.startswith("quiz:")]
    assert len(inputs) == len(D.QUIZ_STEPS)
    inputs[0].input("B, S")               # src tokens: right
    inputs[2].input("2, 4, 5, 16")        # enc0 Q: right
    inputs[3].input("B, h, S, d_k")       # enc0 scores: wrong
    inputs[4].input("banana")             # unreadable
    submit = [b for b in at.button if b.label == t("shapes.quiz_check", "en")]
    submit[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [t("shapes.quiz_right", "en", shape="(2, 5)"),
                                             t("shapes.quiz_right", "en", shape="(2, 4, 5, 16)")]
    assert [e.value for e in at.error] == [t("shapes.quiz_wrong", "en", shape="(2, 4, 5, 5)", symbols="(B, h, S, S)")]
    assert t("shapes.quiz_unreadable", "en") in [w.value for w in at.warning]
    bars = at.get("progress")
    assert bars and "2 / 16" in bars[0].proto.text and "(4 answered)" in bars[0].proto.text
