"""Sampling page: temperature, top-k, top-p on our LM's logits, entropy, seeded samples."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from demos import llm
from demos import sampling as S
from tests.apptest import open_page


@pytest.fixture(scope="module")
def live() -> llm.LiveLM:
    return llm.load("lm")


@pytest.fixture(scope="module")
def logits(live) -> torch.Tensor:
    ids, _ = llm.encode(live, "Q: What is the KV cache?\nA: The KV cache ")
    return S.next_logits(live.net, ids)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.95])
def test_top_p_kept_set_is_the_smallest_reaching_p(logits, p: float) -> None:
    f = S.apply(logits, 1.0, None, p)
    order = np.argsort(-f.probs0, kind="stable")
    n = int(f.kept.sum())
    cum = np.cumsum(f.probs0[order])
    assert cum[n - 1] >= p - 1e-6                       # the kept set reaches p
    assert n == 1 or cum[n - 2] < p                     # one token fewer would not
    assert set(order[:n]) == set(np.flatnonzero(f.kept))   # and it is the most likely ones
    assert f.probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert (f.probs[~f.kept] == 0).all()


def test_kept_count_mass_and_sorted_probs(logits) -> None:
    f = S.apply(logits, 1.0, 5, None)
    assert f.n_kept == 5 == int(f.kept.sum())
    assert f.kept_mass == pytest.approx(float(np.sort(f.probs0)[::-1][:5].sum()), rel=1e-6)
    srt = f.sorted_probs()
    assert len(srt) == 5 and (np.diff(srt) <= 0).all() and srt.sum() == pytest.approx(1.0, abs=1e-5)
    g = S.apply(logits, 0.0, None, None)
    assert g.n_kept == 1 and g.sorted_probs().tolist() == [1.0]
    assert g.kept_mass == pytest.approx(float(g.probs0.max()))


@pytest.mark.parametrize("k", [1, 5, 20])
def test_top_k_keeps_exactly_k(logits, k: int) -> None:
    f = S.apply(logits, 0.8, k, None)
    assert f.kept.sum() == k
    assert set(np.flatnonzero(f.kept)) == set(S.top_order(f, k))


def test_temperature_to_zero_equals_argmax_and_entropy(logits) -> None:
    g = S.apply(logits, 0.0, None, None)
    assert g.greedy and g.kept.sum() == 1 and int(np.argmax(g.probs)) == int(logits.argmax())
    assert g.h == 0.0
    cold = S.apply(logits, 0.01, None, None)
    assert int(np.argmax(cold.probs)) == int(logits.argmax()) and cold.probs.max() > 0.99
    # entropy grows with the temperature; T = 1 leaves the distribution as it is
    hs = [S.apply(logits, t, None, None).h for t in (0.3, 0.7, 1.0, 1.5, 2.0)]
    assert all(a < b for a, b in zip(hs, hs[1:], strict=False))
    one = S.apply(logits, 1.0, None, None)
    assert np.allclose(one.probs, one.probs0, atol=1e-6) and one.h == pytest.approx(one.h0, abs=1e-4)
    h_manual = -(one.probs0[one.probs0 > 0] * np.log2(one.probs0[one.probs0 > 0])).sum()
    assert one.h0 == pytest.approx(h_manual, abs=1e-3)


def test_same_seed_same_samples(live) -> None:
    ids, _ = llm.encode(live, "Q: What is RoPE?\nA:")
    a = S.samples(live.net, ids, 3, 30, 1.0, None, 0.9, seed=7)
    b = S.samples(live.net, ids, 3, 30, 1.0, None, 0.9, seed=7)
    assert a == b and len(a) == 3 and all(len(x) == 30 for x in a)
    assert S.samples(live.net, ids, 1, 30, 1.0, None, 0.9, seed=8)[0] == a[1]     # sample j uses seed + j
    greedy = S.samples(live.net, ids, 3, 20, 0.0, None, None, seed=0)
    assert greedy[0] == greedy[1] == greedy[2]


_page = functools.partial(open_page, "sampling", timeout=180)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_distribution_from_url(lang: str) -> None:
    at = _page(lang, section="distribution", temperature="0.7", top_k="10", top_p="1.0")
    assert at.metric[1].value == "10"


def test_greedy_and_samples_sections() -> None:
    at = _page("en", section="distribution", temperature="0.0")
    assert at.metric[1].value == "1" and at.metric[4].value == "0.00"
    at = _page("en", section="samples", temperature="1.0", top_p="0.9", seed="3", n="2", max_new="20")
    assert len(at.code) >= 2
