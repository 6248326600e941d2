"""Residuals demo: gradient measurements are real autograd values with the documented patterns."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from demos import residuals as R
from model import Transformer
from questions.schema import DEMO_SECTIONS
from tests.apptest import open_page

# ---- depth: residual vs plain ---------------------------------------------------------------------

@pytest.mark.parametrize("residual", [False, True])
def test_block_gradients_are_autograd_values(residual):
    """Compare with a central finite difference of the loss along a random direction in W_1."""
    stack = R.make_block_stack(4, d=8, batch=3, seed=3)
    grads = R.block_grad_norms(stack, 4, residual)
    ws = [w.clone().requires_grad_(True) for w in stack.weights[:4]]
    g1 = torch.autograd.grad(R.block_forward(stack, 4, residual, ws), ws)[0]
    assert grads[0] == pytest.approx(float(g1.norm()), rel=1e-12)
    direction = torch.randn(8, 8, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    eps = 1e-6

    def loss_at(t: float) -> float:
        w = [stack.weights[0] + t * direction] + list(stack.weights[1:4])
        return float(R.block_forward(stack, 4, residual, w))

    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    assert float((g1 * direction).sum()) == pytest.approx(numeric, rel=1e-6)


def test_two_layer_gradient_by_hand():
    """Depth 2 without residuals, chain rule written out in numpy."""
    s = R.make_block_stack(2, d=5, batch=4, seed=1)
    x, (W1, W2), (b1, b2), r = (s.x.numpy(), [w.numpy() for w in s.weights], [b.numpy() for b in s.biases],
                                s.readout.numpy())
    h1 = np.tanh(x @ W1.T + b1)
    h2 = np.tanh(h1 @ W2.T + b2)
    g_h2 = np.tile(r, (4, 1)) / 4                     # dL/dh2 for L = mean_b(h2 · r)
    g_z2 = g_h2 * (1 - h2 ** 2)
    g_h1 = g_z2 @ W2
    g_z1 = g_h1 * (1 - h1 ** 2)
    gW1, gW2 = g_z1.T @ x, g_z2.T @ h1
    got = R.block_grad_norms(s, 2, residual=False)
    assert got[0] == pytest.approx(np.linalg.norm(gW1), rel=1e-10)
    assert got[1] == pytest.approx(np.linalg.norm(gW2), rel=1e-10)


def test_residuals_keep_first_layer_gradient_orders_of_magnitude_larger():
    c = R.first_layer_vs_depth(24)
    plain, res = c["plain"], c["residual"]
    assert plain[0] == res[0]                          # depth 1: same single block
    for n in (12, 16, 20, 24):
        assert res[n - 1] / plain[n - 1] > 100         # ≥ 2 orders of magnitude
    assert res[23] / plain[23] > 1e5
    assert plain[23] < 1e-4 and res[23] > 1.0
    slope = np.polyfit(c["depth"], np.log(plain), 1)[0]
    assert slope < -0.3                                       # plain: exponential decay per layer
    assert (np.diff(np.log(plain)) < 0).mean() > 0.8
    assert res.min() >= 0.9 * res[0]                         # residual: never vanishes
    # residuals.depth_note: with residuals it grows slowly with depth (≈ 4× over 24 layers)
    assert 2 < res[23] / res[0] < 10 and np.polyfit(c["depth"], np.log(res), 1)[0] > 0


# ---- RNN vs attention --------------------------------------------------------------------------------

def test_rnn_dependence_decays_attention_does_not():
    rnn = R.rnn_dependence(gain=0.9)
    attn = R.attention_dependence()
    assert rnn.shape == attn.shape == (32,)
    assert rnn[1] / rnn[20] > 1e3                       # vanishing over 19 steps
    assert np.all(np.diff(np.log(rnn[1:])) < 0.2)       # essentially monotone decay
    assert attn[1] / attn[20] < 3 and attn[20] / attn[1] < 3
    assert attn[20] > 100 * rnn[20]
    assert R.rnn_dependence(gain=0.5)[1] / R.rnn_dependence(gain=0.5)[20] > rnn[1] / rnn[20]


def test_dependence_for_the_page():
    k, rnn, attn = R.dependence(0.5)
    assert list(k) == list(range(32))
    np.testing.assert_array_equal(rnn, R.rnn_dependence(gain=0.5))
    np.testing.assert_array_equal(attn, R.attention_dependence())


def test_rnn_jacobian_matches_direct_autograd():
    """k = 1 entry against an explicit torch.autograd.functional.jacobian on a tiny RNN."""
    T, d, gain = 5, 3, 0.9
    norms = R.rnn_dependence(T=T, d=d, gain=gain, seed=4)
    g = torch.Generator().manual_seed(4)
    W_hh = torch.randn(d, d, generator=g, dtype=torch.float64) * gain / math.sqrt(d)
    W_xh = torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    x = torch.randn(T, d, generator=g, dtype=torch.float64)

    def last(x_prev: torch.Tensor) -> torch.Tensor:     # h_T as a function of x_{T-1} (k = 1)
        h = torch.zeros(d, dtype=torch.float64)
        for t in range(T):
            xt = x_prev if t == T - 2 else x[t]
            h = torch.tanh(W_hh @ h + W_xh @ xt)
        return h

    J = torch.autograd.functional.jacobian(last, x[T - 2])
    assert norms[1] == pytest.approx(float(J.norm()), rel=1e-10)


def test_path_lengths():
    p = R.path_lengths(6)
    assert list(p["rnn"]) == [1, 2, 3, 4, 5] and list(p["attention"]) == [1] * 5


# ---- Post-LN vs Pre-LN on our EncoderLayer ----------------------------------------------------------------

def test_ln_gradients_match_a_model_built_at_that_depth():
    """The shared 24-layer model gives exactly the gradients of Transformer(ln_config(depth))."""
    depth, seed = 3, 1
    for norm_first in (False, True):
        got = R.encoder_layer_grad_norms(depth, norm_first, seed)
        net = Transformer(R.ln_config(depth, norm_first, seed)).train()
        V = net.cfg.src_vocab_size
        g = torch.Generator().manual_seed(1000 + seed)
        src = torch.randint(4, V, (R.LN_BATCH, R.LN_LENGTH), generator=g)
        target = torch.randint(4, V, (R.LN_BATCH, R.LN_LENGTH), generator=g)
        memory = net.encode(src, net.make_src_mask(src))
        loss = torch.nn.functional.cross_entropy((memory @ net.src_embed.weight.T).reshape(-1, V), target.reshape(-1))
        loss.backward()
        expect = [math.sqrt(sum(float(p.grad.pow(2).sum()) for p in layer.parameters())) for layer in net.encoder.layers]
        assert np.allclose(got, expect, rtol=1e-5)
        assert net.encoder.layers[0].res1.norm_first is norm_first


def test_post_ln_vs_pre_ln_pattern():
    c = R.ln_last_layer_vs_depth(depths=(2, 6, 12, 24))
    post, pre = c["post"], c["pre"]
    # Post-LN: the last layer's gradient does not shrink with depth (Xiong et al. 2020)
    assert post.max() / post.min() < 1.3
    # Pre-LN: it shrinks with depth, roughly like 1/sqrt(L)
    assert np.all(np.diff(pre) < 0)
    scaled = pre * np.sqrt(c["depth"])
    assert scaled.max() / scaled.min() < 1.6
    # hence Post-LN's last layers get several times larger gradients than Pre-LN's in deep stacks
    ratio = post / pre
    assert np.all(np.diff(ratio) > 0) and ratio[-1] > 3
    # per layer at depth 12: relative to Pre-LN, Post-LN grows toward the last layers;
    # Pre-LN's own profile is largest at the bottom and smooth (no spike at the output)
    p12, q12 = R.ln_profile(12, False), R.ln_profile(12, True)
    rel = p12 / q12
    assert rel[-3:].mean() > 1.5 * rel[:3].mean()
    assert q12[-1] < q12[0] and q12.max() == q12[0]
    assert p12.max() / p12.min() < 1.8                          # Post-LN: roughly flat across layers


def test_ln_all_and_nearest_depth():
    assert R.nearest_ln_depth(13) == 14 and R.nearest_ln_depth(12) == 12 and R.nearest_ln_depth(3) == 4
    th = R.warm_up()
    if th is not None:
        th.join(120)
    assert R.ln_ready()
    data = R.ln_all()
    assert set(data["profiles"]) == set(R.LN_DEPTHS)
    post, pre = data["profiles"][8]
    assert len(post) == len(pre) == 8
    assert np.array_equal(post, R.ln_profile(8, False)) and np.array_equal(pre, R.ln_profile(8, True))
    assert data["curve"]["post"][3] == post[-1]


# ---- the page ----------------------------------------------------------------------------------------------

_render = functools.partial(open_page, "residuals", timeout=120, check_exceptions=False)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["residuals"])
def test_page_sections_render(lang, section):
    from i18n import t

    at = _render(lang, section=section, depth="16")
    assert not at.exception, [e.value for e in at.exception]
    assert t("common.page_residuals", lang) in [e.value for e in at.title]
    if section != "rnn_vs_attention":
        assert at.slider[0].value == 16


def test_page_depth_metrics_follow_slider():
    at = _render("en", section="depth")
    c = R.first_layer_vs_depth(24)
    at.slider[0].set_value(20).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    from i18n import t

    assert shown[t("residuals.metric_plain", "en")] == f"{c['plain'][19]:.2e}"
    assert shown[t("residuals.metric_residual", "en")] == f"{c['residual'][19]:.2e}"


def test_page_bad_depth_param_is_clamped():
    """Out of range is clamped to the slider's end (one clamping path, ui.state.from_url); not a number
    falls back to the default."""
    at = _render("en", section="depth", depth="999")
    assert not at.exception
    assert at.slider[0].value == at.slider[0].max
    at = _render("en", section="depth", depth="deep")
    assert not at.exception
    assert at.slider[0].value == R.DEPTH_DEFAULT


@pytest.mark.parametrize("norm_first", [False, True])
def test_zero_sublayers_give_identity_pre_ln_and_layernorm_post_ln(norm_first):
    """lesson norms-and-residuals step 8: with every sub-layer outputting 0, a Pre-LN layer is the
    identity, a Post-LN layer gives LN(x) (the LayerNorm after the sum remains)."""
    import torch

    from model.transformer import EncoderLayer

    layer = EncoderLayer(R.ln_config(1, norm_first)).eval()
    with torch.no_grad():
        for lin in (layer.self_attn.W_o, layer.ffn.W_2):
            lin.weight.zero_()
            lin.bias.zero_()
        x = 3.0 + 2.0 * torch.randn(2, 5, layer.self_attn.W_o.in_features)
        y = layer(x)
        ln_x = torch.nn.functional.layer_norm(x, x.shape[-1:])
    if norm_first:
        torch.testing.assert_close(y, x)
    else:
        torch.testing.assert_close(y, ln_x, rtol=1e-4, atol=1e-4)
        assert not torch.allclose(y, x, atol=0.1)
