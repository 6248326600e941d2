"""Sampling functions, the character LM data, checkpoints, the shipped `lm` and `python -m model.generate`."""
import json
import math
import subprocess
import sys

import pytest
import torch

from model.checkpoint import CheckpointError, lm_meta, load_lm, save_lm
from model.decoder import BUGS, DecoderConfig, DecoderLM
from model.lm_data import UNK, CharTokenizer, corpus, is_heldout, perplexity
from model.lm_train import LM_THRESHOLDS, LMTrainConfig, train_lm
from model.sampling import apply_temperature, entropy, filter_logits, sample, top_k_mask, top_p_mask
from tests.conftest import ROOT

# ---------------------------------------------------------------------------------------------
# sampling

def _brute_nucleus(logits: torch.Tensor, p: float) -> set[int]:
    probs = torch.softmax(logits.double(), -1).tolist()
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    kept, total = set(), 0.0
    for i in order:
        kept.add(i)
        total += probs[i]
        if total >= p:
            break
    return kept


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("p", [0.05, 0.5, 0.9, 0.99])
def test_top_p_is_the_smallest_set_reaching_p(seed, p):
    logits = torch.randn(30, generator=torch.Generator().manual_seed(seed)) * 2
    mask = top_p_mask(logits, p)
    assert set(torch.nonzero(mask).flatten().tolist()) == _brute_nucleus(logits, p)
    assert mask.sum() >= 1


def test_top_k_and_filter_logits():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0, -1.0]])
    assert top_k_mask(logits, 2).tolist() == [[False, True, True, False, False]]
    probs, kept = filter_logits(logits, temperature=1.0, top_k=3)
    assert kept.tolist() == [[True, True, True, False, False]]
    torch.testing.assert_close(probs.sum(-1), torch.ones(1))
    assert probs[0, 3] == 0 and probs[0, 4] == 0
    expect = torch.softmax(torch.tensor([1.0, 3.0, 2.0]), -1)
    torch.testing.assert_close(probs[0, :3], expect)
    # top-p after top-k: p = 0.6 keeps just the best token of the renormalised top-3 (0.665 >= 0.6)
    _, kept = filter_logits(logits, 1.0, top_k=3, top_p=0.6)
    assert kept.tolist() == [[False, True, False, False, False]]
    with pytest.raises(ValueError):
        apply_temperature(logits, 0.0)


def test_temperature_and_entropy():
    logits = torch.randn(50, generator=torch.Generator().manual_seed(1))
    hs = [entropy(filter_logits(logits, t)[0]).item() for t in (0.3, 1.0, 3.0)]
    assert hs[0] < hs[1] < hs[2] < math.log(50)
    assert entropy(torch.full((8,), 1 / 8), base=2).item() == pytest.approx(3.0)
    assert entropy(torch.tensor([1.0, 0.0, 0.0])).item() == 0.0


def test_sample_reproducible_with_generator():
    probs = torch.softmax(torch.randn(4, 20), -1)
    a = sample(probs, torch.Generator().manual_seed(3))
    b = sample(probs, torch.Generator().manual_seed(3))
    assert a.shape == (4, 1) and torch.equal(a, b)
    one_hot = torch.zeros(20)
    one_hot[7] = 1
    assert sample(one_hot, torch.Generator().manual_seed(0)).item() == 7


# ---------------------------------------------------------------------------------------------
# data and tokenizer

def test_tokenizer_round_trip_and_unknown():
    tok = CharTokenizer.from_text("aab注意注意力 ab", min_count=2)
    assert tok.itos[0] == UNK
    assert tok.decode(tok.encode("ab注意")) == "ab注意"
    assert tok.encode("力") == [0]                    # seen once -> UNK
    with pytest.raises(ValueError):
        CharTokenizer(["a", "b"])


def test_corpus_split_by_card():
    from questions.bank import load_bank

    bank = load_bank()
    train, held = corpus(bank)
    held_ids = [c.id for c in bank.cards if is_heldout(c.id)]
    assert 0.03 < len(held_ids) / len(bank.cards) < 0.25
    for c in bank.cards[:40]:
        doc = f"Q: {c.question.en}\nA: {c.answer.en}\n\n"
        assert (doc in held) == is_heldout(c.id)
        assert (doc in train) != is_heldout(c.id)


class _Uniform(torch.nn.Module):
    def __init__(self, V):
        super().__init__()
        self.V = V

    def forward(self, idx):
        return torch.zeros(*idx.shape, self.V)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    tok = CharTokenizer.from_text("abcdefgh" * 3)
    assert perplexity(_Uniform(len(tok)), tok, "abcdefgh" * 10, ctx_len=16) == pytest.approx(len(tok))


# ---------------------------------------------------------------------------------------------
# checkpoints and training

def test_save_load_round_trip_with_bug(tmp_path):
    tok = CharTokenizer.from_text("hello world, 你好世界 " * 3)
    m = DecoderLM(DecoderConfig(vocab_size=len(tok), d_model=16, n_layers=1, n_heads=2, n_kv_heads=1)).eval()
    path = save_lm(m, tok, {"x": 1}, tmp_path / "tiny.pt")
    idx = torch.tensor([tok.encode("hello")])
    m2, tok2 = load_lm(str(path), cached=False)
    torch.testing.assert_close(m2(idx), m(idx))
    assert m2.lm_head.weight is m2.tok_emb.weight and tok2.itos == tok.itos
    bad, _ = load_lm(str(path), bug="no_scale", cached=False)
    assert bad.cfg.bug == "no_scale"
    with pytest.raises(CheckpointError):
        load_lm(str(path), bug="not-a-bug", cached=False)
    with pytest.raises(CheckpointError):
        load_lm(str(tmp_path / "missing.pt"))


def test_train_lm_lowers_the_loss():
    text = "the cat sat on the mat. " * 40
    cfg = LMTrainConfig(d_model=32, n_layers=1, n_heads=2, n_kv_heads=1, ctx_len=16, max_len=32,
                        batch_size=8, steps=60, warmup=5, lr=1e-2, log_every=10, max_seconds=None)
    torch.set_num_threads(1)
    res = train_lm(cfg, texts=(text, text))
    assert res.history[-1][1] < 0.5 * res.history[0][1]
    assert perplexity(res.model, res.tok, text, 16) < 3.0


# ---------------------------------------------------------------------------------------------
# the shipped LM

def test_shipped_lm_loads_and_meets_its_threshold():
    lm, tok = load_lm("lm")
    meta = lm_meta("lm")
    assert lm.cfg.pos == "rope" and lm.cfg.n_kv_heads < lm.cfg.n_heads and lm.cfg.norm == "rmsnorm"
    assert (ROOT / "model" / "checkpoints" / "lm.pt").stat().st_size < 5 * 2 ** 20
    assert meta["train_cpu_seconds"] <= 360          # 2 cores x 3 minutes of work (wall time depends on load)
    ppl = perplexity(lm, tok, corpus()[1], meta["train_config"]["ctx_len"])
    assert ppl <= LM_THRESHOLDS["lm"]
    assert ppl < 0.25 * len(tok)             # far better than uniform over the vocabulary


@pytest.mark.parametrize("bug", BUGS)
def test_shipped_lm_loads_with_each_bug(bug):
    bad, tok = load_lm("lm", bug=bug)
    good, _ = load_lm("lm")
    assert bad is not good and bad.cfg.bug == bug
    assert torch.equal(bad.tok_emb.weight, good.tok_emb.weight)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "model.generate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_generate_cli_greedy_same_with_and_without_cache():
    a = _cli("--checkpoint", "lm", "--prompt", "Q: What is the KV cache?\\nA:", "--max-new", "40", "--json")
    b = _cli("--checkpoint", "lm", "--prompt", "Q: What is the KV cache?\\nA:", "--max-new", "40", "--json",
             "--no-cache")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ra, rb = json.loads(a.stdout), json.loads(b.stdout)
    assert ra["tokens"] == rb["tokens"] and len(ra["tokens"]) == 40
    assert ra["text"] == rb["text"] and ra["ms_per_token"] > 0


def test_generate_same_seed_same_sample():
    lm, tok = load_lm("lm")
    idx = torch.tensor([tok.encode("A: ")])
    s1 = lm.generate(idx, 30, temperature=0.9, top_p=0.95, seed=11)
    s2 = lm.generate(idx, 30, temperature=0.9, top_p=0.95, seed=11, use_cache=False)
    s3 = lm.generate(idx, 30, temperature=0.9, top_p=0.95, seed=12)
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    a = _cli("--prompt", "A: ", "--max-new", "20", "--seed", "5", "--temperature", "0.8", "--json")
    b = _cli("--prompt", "A: ", "--max-new", "20", "--seed", "5", "--temperature", "0.8", "--json")
    assert json.loads(a.stdout)["tokens"] == json.loads(b.stdout)["tokens"]


@pytest.mark.parametrize("args, needle", [
    (["--checkpoint", "nope", "--prompt", "x", "--max-new", "3"], "no LM checkpoint named 'nope'"),
    (["--checkpoint", "../etc/passwd", "--prompt", "x", "--max-new", "3"], "not a path"),
    (["--checkpoint", "translate", "--prompt", "x", "--max-new", "3"], "not a decoder LM"),
    (["--prompt", "x", "--max-new", "0"], "must be >= 1"),
    (["--prompt", "x", "--max-new", "abc"], "expected a whole number"),
    (["--prompt", "x", "--max-new", "3", "--top-p", "0"], "--top-p"),
    (["--prompt", "x", "--max-new", "3", "--temperature", "-1"], "--temperature"),
    (["--prompt", "", "--max-new", "3"], "empty"),
    (["--max-new", "3"], "--prompt"),
])
def test_generate_cli_bad_arguments(args, needle, capsys):
    from model.generate import main

    try:
        code = main(args)
    except SystemExit as exc:          # argparse's error(): usage + message, exit status 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_generate_cli_error_in_a_subprocess_has_no_traceback():
    r = _cli("--checkpoint", "nope", "--prompt", "x", "--max-new", "3")
    assert r.returncode == 2 and "no LM checkpoint named 'nope'" in r.stderr and "Traceback" not in r.stderr
