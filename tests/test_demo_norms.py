"""Norms demo: our written-out formulas equal torch's modules, and the page's claims hold."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from demos import norms


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return norms.sample(4, 6, 8, seed=3)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def test_batch_norm_equals_torch(x) -> None:
    bn = torch.nn.BatchNorm1d(8, affine=False, eps=norms.EPS).double().train()
    ref = bn(_t(x).transpose(1, 2)).transpose(1, 2).numpy()      # BatchNorm1d wants (B, C, L)
    y, mean, var = norms.batch_norm(x)
    np.testing.assert_allclose(y, ref, atol=1e-10)
    np.testing.assert_allclose(mean, x.reshape(-1, 8).mean(0))
    # torch's running_var uses the unbiased variance: momentum 0.1 from 1
    n = 4 * 6
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var * n / (n - 1), rtol=1e-10)


def test_layer_norm_equals_torch(x) -> None:
    ref = torch.nn.LayerNorm(8, elementwise_affine=False, eps=norms.EPS).double()(_t(x)).numpy()
    np.testing.assert_allclose(norms.layer_norm(x), ref, atol=1e-10)


def test_instance_norm_equals_torch(x) -> None:
    ref = torch.nn.InstanceNorm1d(8, eps=norms.EPS).double()(_t(x).transpose(1, 2)).transpose(1, 2).numpy()
    np.testing.assert_allclose(norms.instance_norm(x), ref, atol=1e-10)


@pytest.mark.parametrize("groups", [1, 2, 4, 8])
def test_group_norm_equals_torch(x, groups: int) -> None:
    gn = torch.nn.GroupNorm(groups, 8, eps=norms.EPS, affine=False).double()
    ref = gn(_t(x).transpose(1, 2)).transpose(1, 2).numpy()
    np.testing.assert_allclose(norms.group_norm(x, groups), ref, atol=1e-10)


def test_rms_norm_equals_torch(x) -> None:
    ref = torch.nn.RMSNorm(8, eps=norms.EPS, elementwise_affine=False).double()(_t(x)).numpy()
    np.testing.assert_allclose(norms.rms_norm(x), ref, atol=1e-10)


def test_statistics_along_the_right_axes(x) -> None:
    m, v = norms.per_feature_stats(norms.apply("batch", x))
    np.testing.assert_allclose(m, 0, atol=1e-12)
    np.testing.assert_allclose(v, 1, atol=1e-4)
    m, v = norms.per_token_stats(norms.apply("layer", x))
    np.testing.assert_allclose(m, 0, atol=1e-12)
    np.testing.assert_allclose(v, 1, atol=1e-4)
    # LayerNorm does NOT make each feature zero-mean over the batch (the inputs' features differ)
    assert np.abs(norms.per_feature_stats(norms.apply("layer", x))[0]).max() > 0.3
    y = norms.apply("instance", x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    rms = np.sqrt((norms.apply("rms", x) ** 2).mean(-1))
    np.testing.assert_allclose(rms, 1, atol=1e-4)


def test_group_ids_match_reduce_axes(x) -> None:
    for kind in norms.NORMS:
        ids = norms.group_ids(kind, x.shape)
        y = norms.apply(kind, x)
        for g in np.unique(ids):
            cells = y[ids == g]
            if kind == "rms":
                assert np.sqrt((cells ** 2).mean()) == pytest.approx(1, abs=1e-4)
            else:
                assert cells.mean() == pytest.approx(0, abs=1e-10)
                assert cells.var() == pytest.approx(1, abs=1e-3)   # eps shifts it slightly


def test_padding_contaminates_bn_not_ln() -> None:
    prev = 0.0
    for share in (0.1, 0.3, 0.5, 0.7):
        r = norms.padding_shift(share)
        assert r["pad_share"] == pytest.approx(share, abs=0.03)
        assert r["bn_mean_shift"] > prev + 0.05           # grows with the padding share
        assert r["bn_out_shift"] > 0.1
        assert r["ln_out_shift"] < 1e-12                  # LayerNorm: not affected at all
        prev = r["bn_mean_shift"]
    # the naive BN mean equals (real share) × real mean, because padding is zeros
    r = norms.padding_shift(0.5)
    np.testing.assert_allclose(r["bn_mean_all"], 0.5 * r["bn_mean_real"], atol=1e-12)
    assert norms.padding_shift(0.0)["bn_out_shift"] == 0.0


def test_padding_curve_default_grid() -> None:
    shares = norms.padding_shares()
    assert len(shares) == 20 and shares[0] == 0.0 and shares[-1] == 0.95 and shares[3] == 0.15
    r = norms.padding_curve()
    np.testing.assert_array_equal(r["bn_out_shift"], norms.padding_curve(shares)["bn_out_shift"])
    assert r["bn_out_shift"][0] == 0.0 and r["bn_out_shift"][10] == pytest.approx(norms.padding_shift(0.5)["bn_out_shift"])
    assert np.all(r["ln_out_shift"] < 1e-12)


def test_batch_noise_follows_sigma_over_sqrt_n() -> None:
    r = norms.batch_noise([2, 8, 32, 128], draws=3000)
    np.testing.assert_allclose(r["mean_std"], r["theory"], rtol=0.1)
    assert np.all(np.diff(r["out_std"]) < 0)             # bigger batches: less noise


def test_train_eval() -> None:
    r = norms.train_eval(200)
    np.testing.assert_allclose(r["running_mean_hist"][-1], r["true_mean"], atol=0.3)
    np.testing.assert_allclose(r["running_mean_hist"][0], 0)
    assert r["bn_diff"] > 0.05 and r["ln_diff"] == 0.0
    # eval mode: (x − running_mean) / sqrt(running_var + eps), whatever the batch
    expect = (r["probe"] - r["running_mean_hist"][-1]) / np.sqrt(r["running_var"] + norms.EPS)
    np.testing.assert_allclose(r["out_eval"], expect, rtol=1e-5, atol=1e-6)
    # train mode: the probe batch's own statistics
    p = r["probe"]
    np.testing.assert_allclose(r["out_train"], (p - p.mean(0)) / np.sqrt(p.var(0) + norms.EPS), atol=1e-5)


# -- the page (AppTest) ---------------------------------------------------------------------------

from questions.schema import DEMO_SECTIONS  # noqa: E402
from tests.apptest import open_page  # noqa: E402


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["norms"])
def test_page_sections_render(section: str, lang: str) -> None:
    at = open_page("norms", lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert section in [b.value for b in at.button_group]
    assert len(at.get("plotly_chart")) >= 1


@pytest.mark.parametrize("kind", norms.NORMS)
def test_page_every_norm_on_the_cube(kind: str) -> None:
    at = open_page("norms", "en", section="axes", norm=kind)
    assert not at.exception
    assert kind in [b.value for b in at.button_group]


def test_page_padding_numbers() -> None:
    at = open_page("norms", "en", section="padding", pad="0.5")
    assert not at.exception
    bn, ln = (m.value for m in at.metric)
    assert float(bn) == pytest.approx(norms.padding_shift(0.5)["bn_out_shift"], abs=1e-3)
    assert ln == "0"
