"""Step-by-step generation: greedy steps, beams, teacher forcing, cross-attention alignment; page renders."""
from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import torch

from demos import generation as gen
from i18n import t
from model.checkpoint import load_checkpoint
from tests.apptest import open_page


@pytest.fixture(scope="module")
def translate():
    return load_checkpoint("translate")


def _ids(sv, toks):
    return torch.tensor([sv.token_to_id(x) for x in toks])


def test_parse_input_errors():
    assert gen.parse_input("", "translate").error == "empty"
    assert gen.parse_input("   ", "translate").error == "empty"
    p = gen.parse_input("我 爱 <script>alert(1)</script>", "translate")
    assert p.error == "unknown" and p.unknown == ["<script>alert(1)</script>"]
    assert gen.parse_input("我 爱 😀", "translate").unknown == ["😀"]
    assert gen.parse_input("1" * 10_000, "copy").error == "too_long"
    assert gen.parse_input("我现在爱你", "translate").tokens == ["我", "现在", "爱", "你"]
    assert gen.parse_input("3141", "sort").tokens == ["3", "1", "4", "1"]


def test_greedy_steps_match_greedy_decode(translate):
    model, (sv, tv), _ = translate
    for text in ["我 现在 爱 你", "他 昨天 在 北京 吃 面条", "明天 她 不 喝 咖啡"]:
        toks = text.split()
        steps = gen.greedy_steps(model, sv, tv, toks)
        ref = model.greedy_decode(_ids(sv, toks), tv.bos_id, tv.eos_id)
        assert [tv.token_to_id(s.chosen) for s in steps] == ref
        assert [s.chosen for s in steps][:-1] == gen.gold_target("translate", toks)
        last = steps[-1]
        assert last.cross.shape == (model.cfg.n_layers, model.cfg.n_heads, len(steps), len(toks))
        np.testing.assert_allclose(last.cross.sum(-1), 1.0, atol=1e-5)
        assert last.causal.tolist() == np.tril(np.ones((len(steps), len(steps)), dtype=bool)).tolist()
        assert last.top_probs == sorted(last.top_probs, reverse=True)


def test_cross_attention_aligns_now_with_xianzai(translate):
    """The decoder position that predicts 'now' (input 'you') looks at 现在, not at 你 — a
    non-monotonic alignment learnt by training."""
    model, (sv, tv), _ = translate
    steps = gen.greedy_steps(model, sv, tv, ["我", "现在", "爱", "你"])
    assert [s.chosen for s in steps] == ["I", "love", "you", "now", "<eos>"]
    w = steps[-1].cross[-1].mean(0)                 # last layer, mean of heads: (5 decoder rows, 4 source)
    assert int(w[3].argmax()) == 1 and w[3, 1] > 0.5     # row "you -> now" peaks on 现在
    assert int(w[0].argmax()) == 0                        # "<bos> -> I" on 我
    assert int(w[1].argmax()) == 2                        # "I -> love" on 爱
    assert int(w[2].argmax()) == 3                        # "love -> you" on 你


def test_cross_view_and_unknown_targets(translate):
    model, (sv, tv), _ = translate
    step = gen.greedy_steps(model, sv, tv, ["我", "现在", "爱", "你"])[-1]
    w, peak = gen.cross_view(step, -1, "mean")
    np.testing.assert_array_equal(w, step.cross[-1].mean(0))
    assert peak == int(w[-1].argmax())
    w1, peak1 = gen.cross_view(step, 0, 1)
    np.testing.assert_array_equal(w1, step.cross[0, 1])
    assert peak1 == int(step.cross[0, 1, -1].argmax())
    assert gen.unknown_targets(tv, ["I", "love", "<eos>", "zebra", "you"]) == ["<eos>", "zebra"]


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_beam_steps_equal_beam_search(translate, width):
    model, (sv, tv), _ = translate
    toks = "他 昨天 在 北京 吃 面条".split()
    res = gen.beam_steps(model, sv, tv, toks, width)
    ref = model.beam_search(_ids(sv, toks), tv.bos_id, tv.eos_id, beam_size=width, return_all=True)
    assert [s for s, _ in res.final_ids] == [s for s, _ in ref]
    assert [round(sc, 6) for _, sc in res.final_ids] == [round(sc, 6) for _, sc in ref]
    assert all(len(alive) <= width for alive in res.steps)
    assert res.final[0][0][:-1] == "he ate noodles in beijing yesterday".split()


def test_teacher_forcing_equals_step_by_step(translate):
    model, (sv, tv), _ = translate
    toks = "我 现在 爱 你".split()
    tf = gen.teacher_forcing(model, sv, tv, toks, "I love you now".split())
    assert tf.dec_input == ["<bos>", "I", "love", "you", "now"]
    assert tf.labels == ["I", "love", "you", "now", "<eos>"]
    assert tf.parallel_pred == tf.stepwise_pred == tf.labels
    assert tf.max_abs_logit_diff < 1e-4
    np.testing.assert_allclose(tf.parallel_p_label, tf.stepwise_p_label, atol=1e-5)
    # a wrong gold prefix is still fed as is (teacher forcing), and both ways still agree
    tf2 = gen.teacher_forcing(model, sv, tv, toks, "he love you now".split())
    assert tf2.parallel_pred == tf2.stepwise_pred and tf2.max_abs_logit_diff < 1e-4


def test_digit_task_generation():
    model, (sv, tv), _ = load_checkpoint("reverse")
    steps = gen.greedy_steps(model, sv, tv, list("31415"))
    assert [s.chosen for s in steps] == list("51413") + ["<eos>"]


render = functools.partial(open_page, "generation", check_exceptions=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", ["greedy", "beam", "teacher_forcing"])
def test_generation_page_renders(lang, section):
    at = render(lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_generation", lang) in [e.value for e in at.title]
    codes = [c.value for c in at.code]
    assert codes[0] == "I love you now"                    # model output
    if section == "greedy":
        assert "<bos> I love you" in codes
    if section == "teacher_forcing":
        assert [m.value for m in at.metric][1] == t("generation.tf_yes", lang)


def test_generation_page_bad_inputs():
    at = render("en", sentence="我 爱 <script>alert(1)</script>")
    assert not at.exception
    # shown as text in a message: the Markdown source escapes it, so it renders literally
    assert "<script>alert(1)</script>" in re.sub(r"\\(.)", r"\1", at.error[0].value)
    assert "现在" in at.code[0].value                               # the vocabulary is listed
    at = render("zh", sentence=" ")
    assert at.info[0].value == t("generation.empty", "zh")
    at = render("en", task="sort", sentence="9 8 7 1")
    assert not at.exception and at.code[0].value == "1 7 8 9"


def test_step_changes_reuse_decoding_and_figures(monkeypatch):
    """Moving the step slider back and forth decodes the sentence once and builds each step's
    figures once per process (the page's widget-change reruns stay cheap)."""
    from figures import generation as fg

    calls = {"greedy": 0, "cross": 0, "topk": 0, "mask": 0}

    def counting(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapper

    monkeypatch.setattr(gen, "greedy_steps", counting("greedy", gen.greedy_steps))
    for name, fn in (("cross", "attention_heatmap"), ("topk", "topk_bars"), ("mask", "mask_heatmap")):
        monkeypatch.setattr(fg, fn, counting(name, getattr(fg, fn)))
    sentence = "他们 明年 在 上海 学 中文"                      # not used by other tests
    at = render("en", sentence=sentence)
    assert not at.exception
    slider = at.slider(key="generation:step")
    first = slider.value
    assert calls == {"greedy": 1, "cross": 1, "topk": 1, "mask": 1}
    slider.set_value(1).run()
    assert calls == {"greedy": 1, "cross": 2, "topk": 2, "mask": 2}
    for k in (first, 1, first):
        at.slider(key="generation:step").set_value(k).run()
    assert not at.exception
    assert calls == {"greedy": 1, "cross": 2, "topk": 2, "mask": 2}     # nothing rebuilt
    assert len(at.get("plotly_chart")) == 3


@pytest.mark.parametrize("sentence", ["我 现在 爱 你", "他 昨天 在 北京 吃 面条"])
def test_beam_width_one_is_greedy_and_scores_use_the_gnmt_penalty(translate, sentence):
    """generation.beam_caption: width 1 is greedy; final score = log P ÷ ((5+L)/6)^0.6."""
    model, (sv, tv), _ = translate
    toks = sentence.split()
    greedy = [s.chosen for s in gen.greedy_steps(model, sv, tv, toks)]
    beam = gen.beam_steps(model, sv, tv, toks, 1)
    assert beam.final[0][0] == greedy
    res = gen.beam_steps(model, sv, tv, toks, 3)
    for ids, score in res.final_ids:
        full = [tv.bos_id] + ids
        with torch.no_grad():
            logits = model(_ids(sv, toks)[None], torch.tensor([full[:-1]]))[0]
        logits[:, [model.cfg.pad_id, tv.bos_id]] = float("-inf")
        logp = float(torch.log_softmax(logits.float(), -1)[torch.arange(len(ids)), torch.tensor(ids)].sum())
        assert score == pytest.approx(logp / ((5 + len(ids)) / 6) ** 0.6, abs=1e-4)
