"""Attention demo: the claims of the page hold on real numbers, and the page survives any input."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from demos import attention as A
from i18n import t
from model import MultiHeadAttention
from questions.schema import DEMO_SECTIONS
from tests.apptest import open_page


@pytest.fixture(scope="module")
def lm() -> A.LiveModel:
    return A.random_model()


@pytest.fixture(scope="module")
def run(lm) -> A.Run:
    return A.run(lm, A.split_text("the cat sat on the mat 我 爱 你", lm).tokens)


# ----------------------------------------------------------------------------------------------
# ÷√d_k

@pytest.mark.parametrize("d_k", [1, 4, 16, 64, 256, 1024])
def test_qk_variance_is_d_k_and_scaling_restores_one(d_k: int) -> None:
    v = A.qk_variance(d_k, n=20000, seed=0)
    assert v["var"] == pytest.approx(d_k, rel=0.05)
    assert v["var_scaled"] == pytest.approx(1.0, rel=0.05)
    assert v["var_scaled"] == pytest.approx(v["var"] / d_k)


def test_qk_samples_are_dot_products() -> None:
    rng = np.random.default_rng(0 + 7919 * 3)
    q, k = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(A.qk_samples(3, n=5, seed=0), (q * k).sum(1))


def test_softmax_saturates_without_scaling() -> None:
    small, big = A.softmax_stats(4), A.softmax_stats(256)
    # with the scale the statistics do not depend on d_k (scores have variance 1 either way)
    assert big["max_scaled"] == pytest.approx(small["max_scaled"], abs=0.03)
    assert big["entropy_scaled"] == pytest.approx(small["entropy_scaled"], abs=0.08)
    # without it the rows go one-hot: largest weight -> 1, entropy and Jacobian -> 0
    assert big["max_raw"] > 0.9 > small["max_raw"]
    assert big["entropy_raw"] < 0.25 * big["entropy_scaled"]
    assert big["jacobian_raw"] < 0.5 * big["jacobian_scaled"]


def test_jacobian_norm_closed_form_equals_the_matrix() -> None:
    p = np.array([0.5, 0.2, 0.2, 0.1])
    assert A.jacobian_norm(p) == pytest.approx(np.linalg.norm(A.jacobian(p)), abs=1e-12)
    # and equals torch's autograd Jacobian of softmax
    z = torch.log(torch.tensor(p, dtype=torch.float64))
    jac = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), z).numpy()
    np.testing.assert_allclose(A.jacobian(p), jac, atol=1e-12)
    assert A.jacobian_norm(np.eye(4)[0]) == pytest.approx(0.0)            # one-hot: no gradient


def test_entropy_and_distance() -> None:
    assert A.row_entropy(np.full(8, 1 / 8)) == pytest.approx(math.log(8))
    assert A.row_entropy(np.eye(3)[1]) == 0.0
    w = np.array([[1.0, 0, 0], [0, 0, 1.0], [0.5, 0.5, 0]])
    np.testing.assert_allclose(A.mean_distance(w), [0.0, 1.0, 1.5])


# ----------------------------------------------------------------------------------------------
# W_Q = W_K

def test_shared_wq_wk_is_symmetric_and_diagonal_dominant(lm, run) -> None:
    for layer in range(lm.cfg.n_layers):
        x, _ = A.layer_inputs(run, lm, "enc_self", layer)
        for head in range(lm.cfg.n_heads):
            res = A.wq_wk_compare(x, A.attn_module(lm, "enc_self", layer), head)
            assert res["shared"]["symmetry_error"] < 1e-6
            assert res["own"]["symmetry_error"] > 1e-2
            assert res["shared"]["diagonal_share"] > res["own"]["diagonal_share"]
            assert res["shared"]["diagonal_weight"] > res["own"]["diagonal_weight"]


def test_own_scores_equal_the_models_scaled_scores(lm, run) -> None:
    x, _ = A.layer_inputs(run, lm, "enc_self", 0)
    res = A.wq_wk_compare(x, A.attn_module(lm, "enc_self", 0), 2)
    np.testing.assert_allclose(res["own"]["scores"], run.attn("enc_self", 0).scaled[0, 2].numpy(), atol=1e-4)


# ----------------------------------------------------------------------------------------------
# The six steps

@pytest.mark.parametrize("kind", A.KINDS)
def test_six_steps_by_hand_equal_the_trace(lm, run, kind: str) -> None:
    for layer in range(lm.cfg.n_layers):
        a = run.attn(kind, layer)
        xq, xk = A.layer_inputs(run, lm, kind, layer)
        for head in (0, lm.cfg.n_heads - 1):
            for tok in range(a.q.shape[2]):
                s = A.six_steps(a, head, tok, A.attn_module(lm, kind, layer), xq[tok], xk)
                np.testing.assert_allclose(s["q_by_hand"], a.q[0, head, tok].numpy(), atol=1e-5)
                np.testing.assert_allclose(s["k_by_hand"], a.k[0, head].numpy(), atol=1e-5)
                np.testing.assert_allclose(s["scores"], a.scores[0, head, tok].numpy(), atol=1e-4, rtol=1e-5)
                np.testing.assert_allclose(s["scaled"], s["scores"] / math.sqrt(lm.cfg.d_k))
                np.testing.assert_allclose(s["weights"], a.weights[0, head, tok].numpy(), atol=1e-6)
                np.testing.assert_allclose(s["context"], a.context[0, head, tok].numpy(), atol=1e-6)
                assert s["weights"].sum() == pytest.approx(1.0)
                np.testing.assert_allclose(s["weighted"].sum(0), s["context"])


def test_six_steps_page_views(lm, run) -> None:
    a = run.attn("dec_self", 1)
    xq, xk = A.layer_inputs(run, lm, "dec_self", 1)
    s = A.six_steps(a, 2, 3, A.attn_module(lm, "dec_self", 1), xq[3], xk)
    rows = A.qkv_rows(s)
    n = a.k.shape[2]
    assert rows.shape == (1 + 2 * n, lm.cfg.d_k)
    np.testing.assert_array_equal(rows[0], s["q"])
    np.testing.assert_array_equal(rows[1:1 + n], s["k"])
    np.testing.assert_array_equal(rows[1 + n:], s["v"])
    err = A.by_hand_error(s)
    assert err == max(float(np.abs(s[f"{x}_by_hand"] - s[x]).max()) for x in "qkv") and err < 1e-5
    scores, scaled, weights = A.steps_table(s)
    assert scores.tolist() == np.round(s["scores"], 4).tolist()
    assert np.isnan(scaled[4:]).all() and scaled[:4].tolist() == np.round(s["scaled"][:4], 4).tolist()  # causal
    assert weights[4:].tolist() == [0.0] * (n - 4) and weights.sum() == pytest.approx(1.0, abs=1e-3)
    ew, ec = A.trace_error(s, a, 2, 3)
    assert 0 <= ew < 1e-6 and 0 <= ec < 1e-6


def test_weights_views_and_saturation(lm, run) -> None:
    allw = A.all_weights(run, "cross")
    n_tgt, n_src = len(run.tgt_tokens), len(run.src_tokens)
    assert allw.shape == (lm.cfg.n_layers, lm.cfg.n_heads, n_tgt, n_src)
    np.testing.assert_array_equal(A.head_weights(run, "cross", 1, 2), allw[1, 2])
    np.testing.assert_array_equal(allw[0], run.attn("cross", 0).weights[0].numpy())
    share = A.saturated_share(run, "cross")
    assert share == float((allw.max(-1) > 0.9).mean())
    assert A.saturated_share(run, "cross", threshold=0.0) == 1.0 and A.saturated_share(run, "cross", 1.0) == 0.0


def test_table_d_models() -> None:
    assert A.table_d_models(None) == (16, 32, 64, 128, 256, 512)
    assert A.table_d_models(A.random_model(24)) == (16, 32, 64, 96, 128, 256, 512)
    assert A.table_d_models(A.random_model(16)) == (16, 32, 64, 128, 256, 512)


def test_causal_mask_in_six_steps(run) -> None:
    a = run.attn("dec_self", 0)
    s = A.six_steps(a, 0, 2)
    assert s["allowed"].tolist() == [True, True, True] + [False] * (a.k.shape[2] - 3)
    assert np.all(s["weights"][3:] == 0)


# ----------------------------------------------------------------------------------------------
# Multi-head

@pytest.mark.parametrize("d_model", [64, 96])
def test_multihead_params_and_flops_equal_one_big_head(d_model: int) -> None:
    rows = A.multihead_table(d_model, T=7)
    one = MultiHeadAttention(d_model, 1)
    assert {r["params"] for r in rows} == {A.count_params(one)} == {4 * (d_model * d_model + d_model)}
    assert {r["flops"] for r in rows} == {A.count_flops(one, 7)} == {A.flops_formula(d_model, 7)}
    assert [r["heads"] for r in rows] == [h for h in (1, 2, 4, 8, 16) if d_model % h == 0]
    for r in rows:
        assert r["per_head_params"] * r["heads"] == 3 * (d_model * d_model + d_model)


def test_warm_up_fills_the_table_caches_once() -> None:
    """The page starts A.warm_up at its first visit; afterwards both tables are cache hits."""
    job = A.warm_up((64, 96), 16, 10000)
    if job is not None:
        job.join(timeout=120)
    assert A.warm_up((64, 96), 16, 10000) is None           # finished, and never started twice
    hits = A.multihead_table.cache_info().hits
    rows = A.multihead_table(64, 16)
    assert A.multihead_table.cache_info().hits == hits + 1
    assert rows[0]["flops"] == A.flops_formula(64, 16)
    hits = A.scaling_table.cache_info().hits
    assert [r["d_k"] for r in A.scaling_table(A.D_K_OPTIONS, 10000)] == list(A.D_K_OPTIONS)
    assert A.scaling_table.cache_info().hits == hits + 1


def test_flops_grow_with_sequence_length() -> None:
    m = MultiHeadAttention(32, 4)
    assert A.count_flops(m, 10) - A.count_flops(m, 5) == A.flops_formula(32, 10) - A.flops_formula(32, 5)


def test_head_stats_shapes_and_values(lm, run) -> None:
    st_ = A.head_stats(run, "enc_self")
    assert st_["entropy"].shape == (lm.cfg.n_layers, lm.cfg.n_heads)
    w = run.attn("enc_self", 1).weights[0, 3].double().numpy()
    assert st_["entropy"][1, 3] == pytest.approx(A.row_entropy(w).mean())
    assert st_["distance"][1, 3] == pytest.approx(A.mean_distance(w).mean())
    assert np.all(st_["entropy"] <= math.log(len(run.src_tokens)) + 1e-9)


# ----------------------------------------------------------------------------------------------
# Scaling switched off inside the model

@pytest.mark.parametrize("d_k", [16, 64])
def test_live_scaling_off_sharpens_attention(d_k: int) -> None:
    lm = A.random_model(d_k)
    twin = A.unscaled_twin(lm)
    assert twin.cfg.scale_attention is False and lm.cfg.scale_attention is True
    for name, p in lm.net.state_dict().items():          # the very same weights, not a copy
        assert torch.equal(p, twin.net.state_dict()[name])
        assert p.data_ptr() == twin.net.state_dict()[name].data_ptr()
    toks = A.split_text("他 昨天 在 北京 吃 面条 and then slept", lm).tokens
    on = A.run(lm, toks)
    off = A.run(lm, toks, list(toks), decoder_net=twin)
    assert off.tgt_tokens == on.tgt_tokens
    # layer 0 sees identical inputs: the unscaled scores are exactly √d_k times larger
    a_on, a_off = on.attn("enc_self", 0), off.attn("enc_self", 0)
    np.testing.assert_allclose(a_off.scaled.numpy(), a_on.scaled.numpy() * math.sqrt(d_k), rtol=1e-4, atol=1e-4)
    for kind in A.KINDS:
        s_on, s_off = A.head_stats(on, kind), A.head_stats(off, kind)
        assert s_off["max_weight"].mean() > s_on["max_weight"].mean()
        assert s_off["entropy"].mean() < s_on["entropy"].mean()
    if d_k == 64:   # saturated rows: the softmax Jacobian collapses
        assert A.head_stats(off, "enc_self")["jacobian"].mean() < A.head_stats(on, "enc_self")["jacobian"].mean()


# ----------------------------------------------------------------------------------------------
# Input handling

def test_split_text_messages(lm) -> None:
    for bad in ("", "   ", "\n\t", None):
        with pytest.raises(A.InputError) as e:
            A.split_text(bad, lm)
        assert e.value.code == "empty"
    long = A.split_text("字" * 10_000, lm)
    assert "cut_chars" in long.notes and "cut_tokens" in long.notes and len(long.tokens) == A.MAX_TOKENS
    toks = A.split_text("<script>alert(1)</script> 🙂 hi", lm).tokens
    assert toks == ["<script>alert(1)</script>", "🙂", "hi"]
    r = A.run(lm, toks)
    assert r.src_tokens == toks and r.trace.encoder[0].self_attn.weights.shape[-1] == 3


def test_trained_model_when_present() -> None:
    tm = A.trained_model()
    if tm is None:
        pytest.skip("no trained translation checkpoint")
    toks = A.split_text("我现在爱你", tm)
    assert toks.tokens == ["我", "现在", "爱", "你"] and not toks.unknown
    assert A.greedy_output(tm, toks.tokens) == ["I", "love", "you", "now"]
    r = A.run(tm, toks.tokens)
    cross = r.attn("cross", tm.cfg.n_layers - 1).weights[0].mean(0).numpy()   # heads averaged
    # the decoder position that produces "now" (its input is "you") looks at 现在 the most
    row = r.tgt_tokens.index("you")
    assert r.predicted[row] == "now"
    assert int(cross[row].argmax()) == r.src_tokens.index("现在")
    tgt = A.split_text("i LOVE you now", tm, side="tgt")
    assert tgt.tokens == ["I", "love", "you", "now"] and not tgt.unknown


# ----------------------------------------------------------------------------------------------
# The page (AppTest)

_page = functools.partial(open_page, "attention", timeout=90, check_exceptions=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["attention"])
def test_page_sections_render(lang: str, section: str) -> None:
    at = _page(lang, section=section, model="random")
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_attention", lang) in [e.value for e in at.title]
    assert at.query_params["section"] == [section] or at.query_params["section"] == section
    charts = at.get("plotly_chart")
    assert len(charts) >= 1


@pytest.mark.parametrize("text,message", [
    ("", "attention.err_empty"),
    ("   ", "attention.err_empty"),
    ("<script>alert('x')</script><b>bold</b>", None),
    ("🙂🙃 emoji 😀", None),
    ("好" * 10_000, "attention.note_cut_tokens"),      # the box keeps 200 characters: 200 tokens
], ids=["empty", "blank", "html", "emoji", "10k-chars"])
def test_page_bad_input(text: str, message: str | None) -> None:
    at = _page("en", section="heatmaps", model="random")
    at.text_input(key="attention:sentence").set_value(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [e.value for e in (*at.warning, *at.info)]
    if message:
        expected = t(message, "en", n=A.MAX_TOKENS) if "cut" in message else t(message, "en")
        assert expected in shown
    else:
        assert len(at.get("plotly_chart")) >= 1
    # user text never reaches the page as HTML
    assert not any("<script>" in m.value for m in at.markdown)


def test_page_d_k_param_drives_the_random_model() -> None:
    at = _page("en", section="six_steps", model="random", d_k="64")
    assert not at.exception, [e.value for e in at.exception]
    assert any("d_k = 64" in m.value for m in at.subheader)
    assert any("d_model = 256" in m.value for m in at.info)


def test_page_uses_the_trained_model_when_present() -> None:
    if A.trained_model() is None:
        pytest.skip("no trained translation checkpoint")
    at = _page("en", section="heatmaps", attn="cross")
    assert not at.exception, [e.value for e in at.exception]
    assert any("trained Chinese→English" in s.value for s in at.success)
    assert "I love you now" in [c.value for c in at.code]
    # a card link with the paper's d_k = 64 opens the random model of that size instead
    at = _page("en", section="six_steps", d_k="64")
    assert not at.exception, [e.value for e in at.exception]
    assert any("d_model = 256" in m.value for m in at.info)


def test_unspaced_chinese_is_cut_into_real_words() -> None:
    """A word segmenter, not longest-match on the model's tiny vocabulary: 学习 must not become
    学 + 习和自然语言处理 (the first round's bug), and the model's own words still come out whole."""
    from demos.attention import split_text, trained_model

    lm = trained_model()
    assert lm is not None
    assert split_text("我现在爱你", lm).tokens == ["我", "现在", "爱", "你"]
    toks = split_text("深度学习和自然语言处理", lm).tokens
    assert "学习" in toks and "学" not in toks and all(len(t) <= 4 for t in toks)
    assert "".join(toks) == "深度学习和自然语言处理"


# ----------------------------------------------------------------------------------------------
# The texts' Jacobian claims (attention.jac_note, attention.exp_live_scaling, lesson step 6)

def test_jacobian_without_scale_rises_at_tiny_d_k_then_falls() -> None:
    rows = {r["d_k"]: r for r in A.scaling_table()}
    for d_k in (4, 8, 16, 64, 256, 1024):                       # "with the scale: about 0.30"
        assert rows[d_k]["jacobian_scaled"] == pytest.approx(0.30, abs=0.01)
    for d_k in (2, 4, 8):                                       # tiny d_k: raw rows leave uniform
        assert rows[d_k]["jacobian_raw"] > rows[d_k]["jacobian_scaled"]
    for d_k in (16, 32, 64, 128, 256, 512, 1024):               # from 16 on: below the scaled value
        assert rows[d_k]["jacobian_raw"] < rows[d_k]["jacobian_scaled"]
    raw = [rows[d]["jacobian_raw"] for d in A.D_K_OPTIONS if d >= 4]
    assert all(b < a for a, b in zip(raw, raw[1:], strict=False)) and raw[-1] < 0.06   # falls towards 0


def _live_jacobians(lm: A.LiveModel, toks: list[str], tgt: list[str] | None = None) -> dict[str, tuple[float, float]]:
    twin = A.unscaled_twin(lm)
    on = A.run(lm, toks, tgt)
    off = A.run(lm, toks, list(on.output), decoder_net=twin)
    return {k: (float(A.head_stats(on, k)["jacobian"].mean()), float(A.head_stats(off, k)["jacobian"].mean()))
            for k in A.KINDS}


def test_live_jacobian_shrinks_only_with_a_large_enough_d_k() -> None:
    text = "他 昨天 在 北京 吃 面条 and then slept"
    small = A.random_model(4)
    j = _live_jacobians(small, A.split_text(text, small).tokens)
    assert j["enc_self"][1] > j["enc_self"][0]                  # d_k = 4: switching the scale off raises it
    for d_k in (32, 128):                                       # d_k ≥ 32: it drops for every kind
        lm = A.random_model(d_k)
        for on, off in _live_jacobians(lm, A.split_text(text, lm).tokens).values():
            assert off < on
    tm = A.trained_model()
    if tm is not None:                                          # the trained model (d_k = 16) too
        for on, off in _live_jacobians(tm, A.split_text("我 现在 爱 你", tm).tokens).values():
            assert off < 0.8 * on
