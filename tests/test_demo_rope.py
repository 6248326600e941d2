"""RoPE page: rotation, distance decay, the shift check, extrapolation and position interpolation."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from demos import llm
from demos import rope as R
from model.decoder import apply_rope
from tests.apptest import open_page


def test_thetas_and_wavelengths() -> None:
    th = R.thetas(64)
    assert th[0] == 1.0 and th.shape == (32,)
    assert th[-1] == pytest.approx(10000 ** (-62 / 64))
    assert R.wavelengths(64)[0] == pytest.approx(2 * np.pi)
    assert R.wavelengths(64)[-1] > 40_000                   # the slowest pair needs ~48k positions per turn


def test_pair_points_are_rotations() -> None:
    pts = R.pair_points(16, 10, [0, 7])
    assert np.allclose(np.linalg.norm(pts, axis=-1), 1.0)
    assert np.allclose(pts[0, 3], [np.cos(3.0), np.sin(3.0)])            # pair 0: 1 rad per position
    half = R.pair_points(16, 10, [0], scale=0.5)
    assert np.allclose(half[0, 6], pts[0, 3])                             # interpolation: position 6 -> 3


def test_score_decays_with_distance() -> None:
    s = R.score_vs_distance(64, 2048)
    assert s[0] == pytest.approx(1.0)
    # the mean |score| over ever longer distance ranges falls: 0.91, 0.62, 0.45, 0.30, 0.16
    buckets = [np.abs(s[a:b]).mean() for a, b in ((0, 4), (4, 32), (32, 128), (128, 512), (512, 2048))]
    assert all(x > y for x, y in zip(buckets, buckets[1:], strict=False))
    assert buckets[0] > 0.9 and buckets[-1] < 0.2
    b = R.roformer_bound(64, 2048)
    assert b[0] == pytest.approx((1 + 32) / 2)              # mean of j for j = 1..32
    assert b[1024:].mean() < b[:8].mean() / 2


def test_rotation_pairs_and_distance_curves() -> None:
    assert R.rotation_pairs(64) == [0, 1, 8, 16, 31]
    assert R.rotation_pairs(8) == [0, 1, 2, 3]                  # half = 4: 4 // 4 = 1 coincides
    delta, ones, bound = R.distance_curves(64, 100)
    assert delta.tolist() == list(range(1, 101))
    np.testing.assert_array_equal(ones, R.score_vs_distance(64, 100)[1:])
    np.testing.assert_allclose(bound, R.roformer_bound(64, 100)[1:] / 32)


def test_perplexity_rows_and_bar_cap() -> None:
    plain = {1: {"ppl": 3.0}, 2: {"ppl": 20.0}, 4: {"ppl": None}}
    assert R.ppl_row(plain) == [3.0, 20.0, None]
    assert R.pi_row(plain, {2: 3.5, 4: 4.0}) == [3.0, 3.5, 4.0]
    assert R.bar_cap([[3.0, 20.0, None], [3.5]]) == 12.0         # at most 4× the smallest
    assert R.bar_cap([[3.0, 5.0]]) == 5.0 and R.bar_cap([[None]]) == 10.0


def test_pi_pairs_turn_between_the_trained_length_and_4x() -> None:
    L = 128
    pairs = R.pi_pairs(64, L)
    lam = R.wavelengths(64)
    assert len(pairs) == 2 and pairs == sorted(pairs)
    assert all(L < lam[i] < 4 * L for i in pairs)
    assert pairs == [int(np.abs(lam - 1.5 * L).argmin()), int(np.abs(lam - 3 * L).argmin())]
    pts = R.pi_points(64, L, pairs)
    assert pts.shape == (4, 4 * L, 2)
    np.testing.assert_allclose(pts[2, 4 * 10], pts[0, 10])       # interpolated position 40 = plain 10


def test_heldout_ids_encode_the_corpus() -> None:
    from model.lm_data import corpus

    live = llm.load("lm")
    ids = R.heldout_ids(live.tok)
    assert ids.dtype == torch.long and ids.dim() == 1
    assert ids.tolist() == live.tok.encode(corpus()[1])


def test_reference_formula_equals_the_model() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 20, 32, generator=g)
    pos = torch.arange(5, 25)
    assert (apply_rope(x, offset=5) - R.rope_reference(x, pos)).abs().max() < 1e-5


@pytest.mark.parametrize("m,n,s", [(7, 3, 100), (0, 0, 1024), (512, 3, 777), (3, 500, 1)])
def test_shift_check_equal_scores(m: int, n: int, s: int) -> None:
    r = R.shift_check(64, m, n, s)
    assert r["diff"] < 1e-5 and r["worst"] < 1e-5 and r["vs_reference"] < 1e-5
    assert abs(r["score"] - r["unrotated"]) > 1e-3 or m == n


def test_model_shift_check_on_the_live_model() -> None:
    live = llm.load("lm")
    ids, _ = llm.encode(live, "Q: What is RoPE?")
    a, b, diff = R.model_shift_check(live.net, ids, 300)
    assert a.shape == (len(ids), len(ids)) and diff < 1e-4
    assert np.isnan(a[0, 1]) and not np.isnan(a[1, 0])


def test_extrapolation_and_interpolation_run_on_a_small_model() -> None:
    live = llm.random_lm(n_layers=1, d_model=32, n_heads=2, n_kv_heads=1, max_len=16)
    ids = torch.randint(0, live.cfg.vocab_size, (2000,), generator=torch.Generator().manual_seed(0))
    res = R.extrapolation(live.net, ids, 16, windows=2)
    assert set(res) == {1, 2, 4} and res[4]["loss"].shape == (64,)
    assert res[1]["ppl_beyond"] is None and res[2]["ppl_beyond"] > 1
    learned = llm.random_lm(n_layers=1, d_model=32, n_heads=2, max_len=16, pos="learned")
    res = R.extrapolation(learned.net, ids, 16, windows=2)
    assert res[1]["ppl"] is not None and res[2]["ppl"] is None and res[4]["loss"] is None
    # interpolation with scale 1 is the same model; with scale 1/2 position 2p acts as p
    twin = R.interpolated(live.net, 1.0)
    x = ids[None, :32]
    assert torch.allclose(twin(x), live.net(x), atol=1e-5)
    half = R.interpolated(live.net, 0.5)
    scaled, ref = half._rope(0, 8, "cpu"), live.net._rope(0, 4, "cpu")
    if isinstance(ref, tuple):
        scaled, ref = scaled[0], ref[0]
    assert torch.allclose(scaled[::2], ref, atol=1e-6)
    y = ids[None, :16]
    assert not torch.allclose(half(y), live.net(y), atol=1e-3)
    assert R.trained_length({"train_config": {"ctx_len": 128}}, live.cfg) == 128
    assert R.trained_length({}, live.cfg) == 16
    # the page's entry points: the same numbers on the held-out corpus at the trained length
    live.info = {"ctx_len": 8}
    of = R.extrapolation_of(live)
    direct = R.extrapolation(live.net, R.heldout_ids(live.tok), 8)
    assert [of[m]["ppl"] for m in R.MULTIPLES] == pytest.approx([direct[m]["ppl"] for m in R.MULTIPLES])
    pi = R.interpolation_of(live)
    held = R.heldout_ids(live.tok)
    assert set(pi) == {2, 4}
    assert pi[2] == pytest.approx(R.ppl(R.loss_by_position(R.interpolated(live.net, 0.5), held, 16, R.EXTRAP_WINDOWS)))


_page = functools.partial(open_page, "rope", timeout=180)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_shift_section_from_url(lang: str) -> None:
    at = _page(lang, section="shift", d_head="64", m="7", n="3", s="100")
    score, shifted = float(at.metric[0].value), float(at.metric[1].value)
    assert abs(score - shifted) < 1e-5


@pytest.mark.parametrize("section", ["rotation", "distance", "extrapolation", "interpolation"])
def test_sections_render(section: str) -> None:
    at = _page("en", section=section, d_head="32", length="100")
    if section == "rotation":
        assert at.table[0].value.iloc[0, 0] == 0
