"""Training-details demo: warmup schedule, dropout train vs eval, label smoothing vs torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from demos import training_details as td


@pytest.mark.parametrize("d,w", [(512, 4000), (64, 100), (256, 1)])
def test_warmup_peak(d: int, w: int) -> None:
    steps = np.arange(1, 4 * w + 50)
    lr = td.noam_lr(steps, d, w)
    assert steps[lr.argmax()] == w
    step, peak = td.noam_peak(d, w)
    assert step == w and lr.max() == pytest.approx(peak) == pytest.approx(d ** -0.5 * w ** -0.5)
    if w > 1:   # linear warmup, then 1/√step decay
        assert td.noam_lr(w // 2, d, w) == pytest.approx(d ** -0.5 * (w // 2) * w ** -1.5)
    assert td.noam_lr(4 * w, d, w) == pytest.approx(d ** -0.5 * (4 * w) ** -0.5)


def test_paper_peak_value() -> None:
    assert td.noam_peak(512, 4000)[1] == pytest.approx(6.988e-4, rel=1e-3)


def test_dropout_train_vs_eval() -> None:
    r = td.train_vs_eval()
    assert r["train_diff"] > 1e-3                       # two train-mode calls differ
    assert r["eval_diff"] == 0.0                        # eval mode is deterministic
    np.testing.assert_array_equal(r["eval_1"], r["eval_2"])
    assert not np.allclose(r["train_1"], r["train_2"])
    train_zeros = [z for _, z in r["train_zeros"]]
    assert len(train_zeros) == 2 * 2 + 2 * 3            # 2 encoder layers × 2 + 2 decoder layers × 3
    assert 0.05 < np.mean(train_zeros) < 0.15           # about p = 0.1 of each sub-layer output dropped
    assert all(z == 0.0 for _, z in r["eval_zeros"])
    assert td.train_vs_eval(dropout=0.0)["train_diff"] == 0.0


def test_no_grad_does_not_change_outputs_eval_does() -> None:
    """demo_training.exp_eval: no_grad only skips the graph; eval() is what removes dropout's noise
    (train_vs_eval runs inside no_grad, and its train-mode passes still differ)."""
    net = td.demo_model(0.1).eval()
    src, tgt = torch.tensor([[5, 9, 12, 7]]), torch.tensor([[1, 8, 15]])
    with_graph = net(src, tgt)
    assert with_graph.requires_grad
    with torch.no_grad():
        without = net(src, tgt)
    assert not without.requires_grad
    assert torch.equal(with_graph.detach(), without)
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(src, tgt), net(src, tgt))


@pytest.mark.parametrize("K,eps", [(5, 0.1), (10, 0.0), (37, 0.3), (2, 1.0)])
def test_label_smoothing_target(K: int, eps: float) -> None:
    q = td.smoothed_target(K, eps, true_class=1)
    assert q.sum() == pytest.approx(1.0)
    assert q[1] == pytest.approx(1 - eps + eps / K)
    assert np.allclose(np.delete(q, 1), eps / K)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.25])
def test_label_smoothing_equals_torch(eps: float) -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 9)) * 3
    target = rng.integers(0, 9, size=6)
    ref = torch.nn.CrossEntropyLoss(label_smoothing=eps)(torch.tensor(logits), torch.tensor(target))
    assert td.smoothed_loss(logits, target, eps) == pytest.approx(float(ref), rel=1e-10)
    # and the target is exactly what torch puts mass on: soft-target CE gives the same loss
    soft = torch.tensor(np.stack([td.smoothed_target(9, eps, int(t)) for t in target]))
    assert float(torch.nn.CrossEntropyLoss()(torch.tensor(logits), soft)) == pytest.approx(float(ref), rel=1e-10)


def test_torch_check_agrees() -> None:
    ours, theirs = td.torch_check(5, 0.2)
    assert ours == pytest.approx(theirs, rel=1e-10) and ours > 0
    rng = np.random.default_rng(5)
    logits, target = rng.normal(size=(4, 5)) * 2, rng.integers(0, 5, size=4)
    assert ours == td.smoothed_loss(logits, target, 0.2)
    assert td.torch_check(5, 0.2) == (ours, theirs)                 # seeded by K


def test_schedule_curves() -> None:
    steps, lr, warm, decay = td.schedule_curves(256, 1000)
    assert steps[0] == 1 and steps[-1] == 10_000 and 1000 in steps and (np.diff(steps) > 0).all()
    assert int(steps[lr.argmax()]) == 1000
    np.testing.assert_allclose(lr, np.minimum(warm, decay))
    assert td.schedule_curves(64, 100)[0][-1] == 2000                # at least 2000 steps shown


def test_logits_table_rows() -> None:
    r = td.train_vs_eval()
    t = td.logits_table(r)
    assert t.shape == (4, len(r["train_1"]))
    np.testing.assert_array_equal(t[2], t[3])                         # eval: the same twice
    np.testing.assert_array_equal(t[0], r["train_1"])


def test_best_achievable() -> None:
    loss, pmax = td.best_achievable(10, 0.1)
    assert pmax == pytest.approx(0.91)
    assert loss == pytest.approx(-(0.91 * np.log(0.91) + 9 * 0.01 * np.log(0.01)))
    assert td.best_achievable(10, 0.0)[0] == 0.0


# -- the page (AppTest) ---------------------------------------------------------------------------

from questions.schema import DEMO_SECTIONS  # noqa: E402
from tests.apptest import open_page  # noqa: E402


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["training_details"])
def test_page_sections_render(section: str, lang: str) -> None:
    at = open_page("training_details", lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert section in [b.value for b in at.button_group]
    assert len(at.get("plotly_chart")) >= 1


def test_page_numbers() -> None:
    at = open_page("training_details", "en", section="warmup", warmup="1000", d_model="256")
    assert not at.exception
    assert at.metric[0].value == "1,000"
    assert float(at.metric[1].value) == pytest.approx(256 ** -0.5 * 1000 ** -0.5, rel=1e-3)
    at = open_page("training_details", "en", section="dropout", p="0.1")
    assert not at.exception
    assert float(at.metric[0].value) > 0 and float(at.metric[1].value) == 0.0
    at = open_page("training_details", "en", section="label_smoothing", eps="0.2", K="5")
    assert not at.exception
    assert at.metric[0].value == "0.8400" and at.metric[1].value == "0.0400"
    import re

    numbers = re.findall(r"\d+\.\d{6}", at.success[0].value)       # our loss, torch's loss
    assert len(numbers) == 2 and numbers[0] == numbers[1]
