"""The coding drills (drills/): every reference passes, every known wrong solution fails with its
own named diagnosis, correct solutions written differently pass (tolerances, never strings),
garbage gives a failed check with a message (never an exception), and the CLI's contract."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drills.grade import grade
from drills.registry import DRILLS_DIR, all_drills, get
from questions.schema import DEMOS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = [(d.id, k) for d in all_drills() for k in d.mistakes]


def failed(result: dict) -> list[dict]:
    return [c for c in result["checks"] if not c["passed"]]


# -- the registry ---------------------------------------------------------------------------------

def test_registry_has_the_drills_the_issue_names():
    ids = [d.id for d in all_drills()]
    assert len(ids) >= 14
    required = {"sdpa": "attention", "causal_mask": "causal_mask", "padding_mask": "padding_mask",
                "sinusoidal_pe": "sinusoidal_pe", "layer_norm": "layer_norm", "mha": "MultiHeadAttention"}
    for did, entry in required.items():
        assert get(did).entry == entry
    for did in ("rms_norm", "swiglu", "rope", "kv_cache_step", "gqa", "label_smoothing", "greedy_decode", "bpe_merge"):
        assert did in ids
    assert get("sdpa").signature.startswith("def attention(q, k, v, mask=None)")


def test_every_drill_is_complete_and_linked():
    from ui.cards import get_bank
    bank = get_bank()
    for d in all_drills():
        assert d.title["zh"] and d.title["en"] and d.statement["zh"] and d.statement["en"]
        assert 2 <= len(d.hints) <= 3 and 1 <= d.difficulty <= 3
        assert d.demo in DEMOS, d.demo
        assert all(bank.get(c) is not None for c in d.cards), d.id
        assert len(d.mistakes) >= 3
        for k in d.mistakes:
            assert (DRILLS_DIR / "fixtures" / d.id / f"{k}.py").is_file(), (d.id, k)
        assert f"def {d.entry}" in d.starter or f"class {d.entry}" in d.starter


# -- references, fixtures, alternatives -----------------------------------------------------------

@pytest.mark.parametrize("drill_id", [d.id for d in all_drills()])
def test_reference_passes(drill_id):
    r = grade(drill_id, get(drill_id).reference)
    assert r["passed"], failed(r)
    assert len(r["checks"]) >= 4
    json.dumps(r)                                            # JSON-able, as the sandbox sends it


def test_starter_fails_with_a_message():
    r = grade("sdpa", get("sdpa").starter)
    assert not r["passed"]
    assert "NotImplementedError" in failed(r)[0]["message"]
    assert "line 8" in failed(r)[0]["message"]


@pytest.mark.parametrize(("drill_id", "mistake"), FIXTURES)
def test_fixture_fails_with_its_diagnosis(drill_id, mistake):
    d = get(drill_id)
    r = grade(drill_id, d.fixture(mistake))
    assert not r["passed"]
    named = [c for c in failed(r) if c["mistake"] == mistake]
    assert named, [(c["name"], c["message"]) for c in failed(r)]
    first = named[0]
    assert d.mistakes[mistake]["en"] in first["message"]     # the mistake is named, in both languages
    assert d.mistakes[mistake]["zh"] in first["message_zh"]


def test_the_issue_example_message():
    r = grade("sdpa", get("sdpa").fixture("softmax_wrong_axis"))
    assert any("sum to 1 down each column: softmax over dim=-2" in c["message"] for c in failed(r))


ALTERNATIVES = {
    "sdpa": '''
import torch

def attention(q, k, v, mask=None):
    q, k, v = q.double(), k.double(), v.double()          # float64 inside, einsum, where
    s = torch.einsum("bhqd,bhkd->bhqk", q, k) * q.shape[-1] ** -0.5
    if mask is not None:
        s = torch.where(mask, s, torch.tensor(float("-inf"), dtype=s.dtype))
    w = torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0)
    return torch.einsum("bhqk,bhkd->bhqd", w, v), w
''',
    "causal_mask": "import torch\n\ndef causal_mask(T):\n    i = torch.arange(T)\n    return i[None, :] <= i[:, None]\n",
    "padding_mask": "import torch\n\ndef padding_mask(lengths, T):\n    return torch.stack([torch.arange(T) < n for n in lengths]).view(len(lengths), 1, 1, T)\n",
    "sinusoidal_pe": '''
import math
import torch

def sinusoidal_pe(T, d_model):
    div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))   # Annotated Transformer
    pe = torch.zeros(T, d_model)
    pos = torch.arange(T).unsqueeze(1)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe
''',
    "layer_norm": '''
def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    return gamma * (x - mu) * (var + eps) ** -0.5 + beta
''',
    "mha": '''
import torch
from torch import nn

class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.h = n_heads
        self.w_q, self.w_k, self.w_v, self.w_o = (nn.Linear(d_model, d_model) for _ in range(4))

    def forward(self, q, k, v, mask=None):
        split = lambda x: x.unflatten(-1, (self.h, -1)).transpose(1, 2)
        Q, K, V = split(self.w_q(q)), split(self.w_k(k)), split(self.w_v(v))
        s = torch.einsum("bhqd,bhkd->bhqk", Q, K) / Q.shape[-1] ** 0.5
        if mask is not None:
            s = s.masked_fill(mask.logical_not(), -torch.inf)
        w = torch.softmax(s, -1)
        if mask is not None:
            w = torch.where(mask, w, torch.zeros_like(w))
        return self.w_o((w @ V).transpose(1, 2).flatten(2))
''',
    "rms_norm": "import torch\n\ndef rms_norm(x, weight, eps=1e-6):\n    return weight * x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)\n",
    "swiglu": "import torch\n\ndef swiglu_ffn(x, w_gate, w_up, w_down):\n    g = x @ w_gate\n    return torch.einsum('btf,fd->btd', g * torch.sigmoid(g) * (x @ w_up), w_down)\n",
    "rope": '''
import torch

def apply_rope(x, positions, base=10000.0):
    d = x.shape[-1]                                       # complex-number form
    theta = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    rot = torch.polar(torch.ones(len(positions), d // 2, dtype=torch.float64), positions[:, None].double() * theta)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(z * rot).flatten(-2).to(x.dtype)
''',
    "kv_cache_step": '''
import torch
import torch.nn.functional as F

def kv_cache_step(x, cache, w_q, w_k, w_v, n_heads):
    B, _, d = x.shape
    heads = lambda t: t.reshape(B, 1, n_heads, -1).permute(0, 2, 1, 3)
    q, k, v = heads(x @ w_q), heads(x @ w_k), heads(x @ w_v)
    if cache is not None:
        k = torch.cat((cache[0], k), 2)
        v = torch.cat((cache[1], v), 2)
    out = F.scaled_dot_product_attention(q, k, v)
    return out.permute(0, 2, 1, 3).reshape(B, 1, d), (k, v)
''',
    "gqa": '''
import torch
import torch.nn.functional as F

def gqa_attention(q, k, v, mask=None):
    B, g, T, d = k.shape
    n = q.shape[1] // g
    k = k[:, :, None].expand(B, g, n, T, d).reshape(B, g * n, T, d)
    v = v[:, :, None].expand(B, g, n, T, d).reshape(B, g * n, T, d)
    s = q @ k.transpose(2, 3) / d ** 0.5
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    w = torch.softmax(s, -1).nan_to_num(0.0)
    return w @ v
''',
    "label_smoothing": '''
import torch

def label_smoothed_ce(logits, target, eps=0.1, ignore_index=-100):
    V = logits.shape[-1]
    keep = target != ignore_index
    logits, target = logits[keep], target[keep]
    q = torch.full_like(logits, eps / V)                   # explicit smoothed distribution
    q[torch.arange(len(target)), target] += 1 - eps
    return -(q * torch.log_softmax(logits, -1)).sum(-1).mean()
''',
    "greedy_decode": '''
def greedy_decode(next_logits, bos_id, eos_id, max_len):
    out = []
    while len(out) < max_len and (not out or out[-1] != eos_id):
        out.append(next_logits([bos_id] + out).argmax().item())
    return out
''',
    "bpe_merge": '''
from collections import Counter

def bpe_merge(word_freqs):
    pairs = Counter()
    for w, f in word_freqs.items():
        for p in zip(w, w[1:]):
            pairs[p] += f
    if not pairs:
        return None, dict(word_freqs)
    (a, b), _ = pairs.most_common(1)[0]                    # stable: first seen wins a tie
    new = {}
    for w, f in word_freqs.items():
        out, i = [], 0
        syms = list(w)
        while i < len(syms):
            if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                out.append(a + b)
                i += 2
            else:
                out.append(syms[i])
                i += 1
        new[tuple(out)] = new.get(tuple(out), 0) + f
    return (a, b), new
''',
}


@pytest.mark.parametrize("drill_id", sorted(ALTERNATIVES))
def test_alternative_correct_solution_passes(drill_id):
    r = grade(drill_id, ALTERNATIVES[drill_id])
    assert r["passed"], failed(r)


def test_every_drill_has_an_alternative():
    assert set(ALTERNATIVES) == {d.id for d in all_drills()}


# -- garbage --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "name", "words"), [
    ("def attention(q, k, v, mask=None)\n    return q\n", "your code compiles", ["line 1", "SyntaxError"]),
    ("", "your code compiles", ["empty"]),
    ("import torch\nx = 1 / 0\n", "your code runs (imports and definitions)", ["ZeroDivisionError", "line 2"]),
    ("import torch\n", "defines attention", ["does not define", "def attention(q, k, v, mask=None)"]),
    ("attention = 3\n", "defines attention", ["must be a function"]),
    ("def attention(q, k, v, mask=None):\n    return attention(q, k, v, mask)\n", "output type and shapes",
     ["RecursionError", "line 2"]),
    ("def attention(q, k, v, mask=None):\n    return None\n", "output type and shapes", ["expected 2 output"]),
    ("def attention(q, k, v, mask=None):\n    return [1, 2]\n", "output type and shapes", ["torch.Tensor"]),
    ("def attention(q, k, v, mask=None):\n    return q, q\n", "output type and shapes", ["(2, 3, 4, 4)", "(2, 3, 4, 8)"]),
    ("import sys\n\ndef attention(q, k, v, mask=None):\n    sys.exit(3)\n", "output type and shapes", ["SystemExit", "line 4"]),
    ("import sys\nsys.exit(0)\n", "your code runs (imports and definitions)", ["SystemExit"]),
])
def test_garbage_is_a_failed_check(source, name, words):
    r = grade("sdpa", source)
    assert not r["passed"]
    bad = failed(r)[0]
    assert bad["name"] == name, bad
    for w in words:
        assert w in bad["message"], (w, bad["message"])
    assert bad["message_zh"]


def test_unknown_drill_and_wrong_types_never_raise():
    assert not grade("nope", "x = 1")["passed"]
    assert not grade("sdpa", None)["passed"]                 # type: ignore[arg-type]
    r = grade("mha", "class MultiHeadAttention:\n    def __init__(self, d, h):\n        pass\n")
    assert not r["passed"] and "w_q" in failed(r)[0]["message"]
    r = grade("kv_cache_step", "def kv_cache_step(x, cache, w_q, w_k, w_v, n_heads):\n    return x\n")
    assert not r["passed"] and "(out, (k_cache, v_cache))" in failed(r)[0]["message"]


def test_figures_for_the_page():
    r = grade("sdpa", get("sdpa").fixture("no_scale"))
    w = r["figures"]["weights"]
    assert len(w["yours"]) == len(w["ours"]) == 6 and w["yours"] != w["ours"]
    assert [t["ours"] for t in r["figures"]["translations"]][0] == "I love you now"
    pe = grade("sinusoidal_pe", get("sinusoidal_pe").reference)["figures"]["pe"]
    assert pe["yours"] == pe["ours"]


# -- CLI ------------------------------------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drills", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_list_and_show():
    r = cli("list", "--json")
    assert r.returncode == 0
    rows = json.loads(r.stdout)
    assert {"id", "title", "difficulty"} <= set(rows[0]) and set(rows[0]["title"]) == {"zh", "en"}
    assert len(rows) == len(all_drills())
    r = cli("show", "mha", "--json")
    data = json.loads(r.stdout)
    assert set(data) >= {"id", "signature", "starter", "statement"} and "class MultiHeadAttention" in data["starter"]


def test_cli_bad_usage_is_exit_2_without_traceback(tmp_path):
    for args in (("check", "nope", "x.py"), ("check", "sdpa", str(tmp_path / "missing.py")), ("check", "sdpa"),
                 ("show", "nope")):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and "error:" in r.stderr


def test_cli_check_through_the_sandbox(tmp_path):
    r = cli("check", "causal_mask", "--reference", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["passed"] and set(data) >= {"id", "passed", "checks", "ms"}
    assert set(data["checks"][0]) >= {"name", "passed", "message"}
    bad = tmp_path / "mask.py"
    bad.write_text(get("causal_mask").fixture("transposed"))
    r = cli("check", "causal_mask", str(bad))
    assert r.returncode == 1
    assert "✗" in r.stdout and "torch.tril" in r.stdout
