"""Every number a card states that can be computed is computed here.

Each test reads the number from the card's answer text (a regex on the shipped YAML, both languages
where the number appears in both) and compares it with a value computed from first principles, with
PyTorch modules (model.transformer, torch.nn) or with the demo code (demos.kv_cache). Editing a card
to a wrong number, or dropping the number from one language, fails a test here.
"""
from __future__ import annotations

import math
import re
from functools import cache

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from demos import kv_cache as kvc
from model.transformer import DecoderLayer, EncoderLayer, TransformerConfig, sinusoidal_positional_encoding
from questions.bank import load_bank

KIB, MIB, GIB = 2**10, 2**20, 2**30
NUM = r"(-?[0-9][0-9,]*(?:\.[0-9]+)?)"


@cache
def _bank():
    bank = load_bank()
    assert not bank.problems, [str(p) for p in bank.problems]
    return bank


def text(cid: str, lang: str = "en", *, followups: bool = True) -> str:
    """The card's answer in `lang`, followed by its follow-up answers and correction notes."""
    card = _bank().by_id[cid]
    parts = [card.answer.get(lang)]
    if followups:
        parts += [f.answer.get(lang) for f in card.followups]
        parts += [c.why.get(lang) for c in card.corrections]
    return "\n".join(parts).replace("{,}", ",")   # LaTeX thousands separator


def claim(cid: str, pattern: str, lang: str = "en") -> float:
    """The number captured by the first group of `pattern` in the card's text (the pattern must
    match: a card that drops the claim fails too)."""
    m = re.search(pattern, text(cid, lang))
    assert m, f"{cid} ({lang}): no match for {pattern!r}"
    return float(m.group(1).replace(",", ""))


def claims(cid: str, pattern: str) -> list[float]:
    """The same claim in both languages: [en value, zh value]."""
    return [claim(cid, pattern, "en"), claim(cid, pattern, "zh")]


def close(stated: float, computed: float, rel: float = 0.05) -> bool:
    return math.isclose(stated, computed, rel_tol=rel)


def softmax_jacobian(z: list[float]) -> torch.Tensor:
    return torch.autograd.functional.jacobian(lambda x: x.softmax(-1), torch.tensor(z, dtype=torch.float64))


# ---- attention: softmax saturation, variance of q·k ------------------------------------------

def test_softmax_jacobian_at_8_0_0_0() -> None:
    J = softmax_jacobian([8.0, 0, 0, 0])
    j11 = J[0, 0].item()
    assert math.isclose(j11, 3 * math.exp(8) / (math.exp(8) + 3) ** 2, rel_tol=1e-12)   # = p(1-p)
    for cid in ("softmax-saturation-gradient", "handwrite-attention"):
        for lang in ("en", "zh"):
            mant = claim(cid, r"z=\(8,0,0,0\).*?J_\{11\}[^$]*?\\approx\s*" + NUM + r"\\times10\^\{-3\}", lang)
            assert close(mant * 1e-3, j11), (cid, lang, mant, j11)
    # the two-logit case the card mentions as the source of the old number
    j2 = softmax_jacobian([8.0, 0])[0, 0].item()
    for v in claims("softmax-saturation-gradient", r"z=\(8,0\)\$.*?J_\{11\}\\approx\s*" + NUM + r"\\times10\^\{-4\}"):
        assert close(v * 1e-4, j2)


def test_softmax_jacobian_at_1_0_0_0_and_ratio() -> None:
    p1 = torch.tensor([1.0, 0, 0, 0]).softmax(-1)[0].item()
    j_small = softmax_jacobian([1.0, 0, 0, 0])[0, 0].item()
    j_big = softmax_jacobian([8.0, 0, 0, 0])[0, 0].item()
    for v in claims("softmax-saturation-gradient", r"z=\(1,0,0,0\)\$.*?p_1\\approx\s*" + NUM):
        assert close(v, p1, 0.005)
    for v in claims("softmax-saturation-gradient", r"z=\(1,0,0,0\)\$.*?J_\{11\}\\approx\s*" + NUM):
        assert close(v, j_small, 0.02)
    ratio = j_small / j_big                                              # ≈ 248
    assert claim("softmax-saturation-gradient", r"about\s+" + NUM + r"\s+times larger") == pytest.approx(ratio, rel=0.05)
    assert claim("softmax-saturation-gradient", r"相差约\s*" + NUM + r"\s*倍", "zh") == pytest.approx(ratio, rel=0.05)


def test_variance_of_q_dot_k_is_d_k_by_simulation() -> None:
    g = torch.Generator().manual_seed(0)
    d_k = 64
    q, k = torch.randn(200_000, d_k, generator=g), torch.randn(200_000, d_k, generator=g)
    dots = (q * k).sum(-1)
    assert dots.var().item() == pytest.approx(d_k, rel=0.02)
    assert (dots / math.sqrt(d_k)).var().item() == pytest.approx(1.0, rel=0.02)
    # "standard deviation √d_k (8 for d_k = 64)"
    assert claim("why-scale-by-sqrt-dk", r"\(" + NUM + r" for \$d_k=64\$\)") == pytest.approx(dots.std().item(), rel=0.02)
    assert claim("why-scale-by-sqrt-dk", r"\$d_k=64\$ 时为 " + NUM, "zh") == pytest.approx(math.sqrt(d_k))


# ---- FLOPs and parameters of a layer ---------------------------------------------------------

def _cfg(d: int = 512, d_ff: int = 2048, h: int = 8) -> TransformerConfig:
    return TransformerConfig(src_vocab_size=10, tgt_vocab_size=10, d_model=d, n_heads=h, d_ff=d_ff,
                             n_layers=1, dropout=0.0)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_encoder_layer_flops_match_24nd2_plus_4n2d() -> None:
    """Measured with torch's FLOP counter on our encoder layer (a multiply-add = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    d, n = 64, 96
    layer = EncoderLayer(_cfg(d, 4 * d, 4)).eval()
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        layer(torch.randn(1, n, d))
    assert fc.get_total_flops() == 24 * n * d * d + 4 * n * n * d


@pytest.mark.parametrize(("ratio", "pattern", "lang"), [
    (1, r"about\s+" + NUM + r"% at \$n=d\$", "en"),
    (4, r"down to\s+" + NUM + r"% at \$n=4d\$", "en"),
    (1, r"\$n=d\$ 时约\s*" + NUM + "%", "zh"),
    (4, r"\$n=4d\$ 时降到\s*" + NUM + "%", "zh"),
])
def test_ffn_flop_share(ratio: int, pattern: str, lang: str) -> None:
    share = 16 / (24 + 4 * ratio)                # 16nd² / (24nd² + 4n²d) at n = ratio·d
    assert claim("block-most-time-consuming", pattern, lang) == pytest.approx(100 * share, abs=0.5)


def test_ffn_flop_share_limit_and_crossovers() -> None:
    assert 16 / (24 + 4 * 1e-6) == pytest.approx(2 / 3)
    # 4n²d > 16nd² ⇔ n > 4d; 4n²d > 24nd² ⇔ n > 6d; d = 4096 → 16384
    assert claim("block-most-time-consuming", r"beyond \$n=" + NUM + r"\$") == 4 * 4096
    assert claim("block-most-time-consuming", r"\$n>" + NUM + r"\$ 时注意力才超过 FFN", "zh") == 4 * 4096
    # ffn-params-flops: 16d² > 8d² + 4nd ⇔ n < 2d
    assert claims("ffn-params-flops", r"\$n<" + NUM + r"\$") == [2 * 512] * 2
    assert claim("ffn-params-flops", r"up to \$n=" + NUM + r"\$") == 2 * 12288


def test_ffn_and_attention_parameters_of_transformer_base() -> None:
    layer = EncoderLayer(_cfg())
    ffn, attn = _params(layer.ffn), _params(layer.self_attn)
    assert ffn == 2 * 512 * 2048 + 2048 + 512 and attn == 4 * 512**2 + 4 * 512
    for v in claims("ffn-params-flops", r"2048\+2048\+512\\approx" + NUM + "\\$?M"):
        assert close(v * 1e6, ffn, 0.01)
    for v in claims("ffn-params-flops", r"4\\cdot512\\approx" + NUM + "\\$?M"):
        assert close(v * 1e6, attn, 0.01)


def test_ffn_share_of_layer_parameters_encoder_two_thirds_decoder_half() -> None:
    cfg = _cfg()
    enc, dec = EncoderLayer(cfg), DecoderLayer(cfg)
    assert _params(enc.ffn) / _params(enc) == pytest.approx(2 / 3, abs=0.01)
    assert _params(dec.ffn) / _params(dec) == pytest.approx(1 / 2, abs=0.01)
    for cid in ("ffn-params-flops", "ffn-expand-then-project"):
        en, zh = text(cid, "en"), text(cid, "zh")
        assert re.search(r"2/3 of an encoder layer", en) and re.search(r"1/2 of a decoder layer", en), cid
        assert "编码器层" in zh and "1/2" in zh, cid


def test_transformer_base_parameter_count() -> None:
    cfg = _cfg()
    enc_layer, dec_layer = _params(EncoderLayer(cfg)), _params(DecoderLayer(cfg))
    d = 512
    assert enc_layer == 12 * d * d + 13 * d                              # "12d²+13d per layer"
    assert claim("transformer-parameter-count", r"\$12d\^2\+" + NUM + r"d\$ per layer") == 13
    enc, dec, emb = 6 * enc_layer, 6 * dec_layer, 37000 * d
    assert claim("transformer-parameter-count", r"encoder \$6\\times12d\^2\\approx" + NUM) == pytest.approx(enc / 1e6, rel=0.01)
    assert claim("transformer-parameter-count", r"decoder \$6\\times16d\^2\\approx" + NUM) == pytest.approx(dec / 1e6, rel=0.01)
    assert claim("transformer-parameter-count", r"37000\\times512\\approx" + NUM) == pytest.approx(emb / 1e6, rel=0.03)
    total = enc + dec + emb                                              # shared embedding counted once
    assert claim("transformer-parameter-count", r"about\s+" + NUM + r"M in total") == pytest.approx(total / 1e6, rel=0.01)
    assert 60e6 < total < 65e6                                           # "close to the reported 65M"


def test_gpt3_parameter_estimate() -> None:
    L, d = 96, 12288
    assert claim("transformer-parameter-count", r"12288\^2\\approx" + NUM) * 1e11 == pytest.approx(12 * L * d * d, rel=0.01)
    assert claim("transformer-parameter-count", r"adds about\s+" + NUM + "B") == pytest.approx(50257 * d / 1e9, rel=0.05)


def test_bert_base_about_110m_parameters() -> None:
    """BERT-base = embeddings (30522 tokens, 512 positions, 2 segments, LN) + 12 encoder layers
    (nn.TransformerEncoderLayer has BERT's layer shapes) + pooler; built on the meta device."""
    def bert(L: int, d: int, h: int) -> int:
        with torch.device("meta"):
            layer = nn.TransformerEncoderLayer(d, h, 4 * d, batch_first=True)
        emb = (30522 + 512 + 2) * d + 2 * d
        return emb + L * _params(layer) + d * d + d
    base, large = bert(12, 768, 12), bert(24, 1024, 16)
    assert claim("bert-vs-transformer-encoder", r"about\s+" + NUM + r"M parameters") == pytest.approx(base / 1e6, rel=0.02)
    assert claim("bert-vs-transformer-encoder", r"约\s*" + NUM + r"M 参数", "zh") == pytest.approx(base / 1e6, rel=0.02)
    assert claim("bert-vs-transformer-encoder", r"16 heads \(about\s+" + NUM + "M") == pytest.approx(large / 1e6, rel=0.02)


def test_swiglu_hidden_size_11008() -> None:
    d = 4096
    hidden = 256 * math.ceil(8 * d / 3 / 256)
    assert hidden == 11008
    assert 3 * d * (8 * d / 3) == pytest.approx(2 * d * 4 * d)           # same 8d² budget
    assert claim("handwrite-swiglu", r"gives\s+" + NUM) == hidden
    assert claim("handwrite-swiglu", r"倍数得\s*" + NUM, "zh") == hidden
    assert claims("handwrite-swiglu", r"\\approx" + NUM) == [pytest.approx(8 * d / 3, abs=0.5)] * 2


# ---- memory: attention scores, Adam mixed precision, KV cache --------------------------------

def test_attention_score_memory_and_adam_memory() -> None:
    scores = 8192**2 * 32 * 2
    assert scores == 4 * GIB
    for cid in ("memory-compute-issues", "attention-quadratic-cost"):
        assert claim(cid, r"8192\^2\\times32\\times2\\,\\text\{B\}=" + NUM + r"\\,\\text\{GiB\}") * GIB == scores
    assert claims("memory-compute-issues", r"7\\times10\^9\\times16\\,\\text\{B\}\\approx" + NUM) == [7e9 * 16 / 1e9] * 2


def test_mixed_precision_adam_is_16_bytes_per_parameter() -> None:
    """Adam keeps two fp32 moments per parameter (measured), plus fp32 master weights and the
    16-bit weight and gradient copies: 2 + 2 + 4 + 4 + 4 = 16."""
    model = nn.Linear(64, 32)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 64)).sum().backward()
    opt.step()
    n = _params(model)
    adam = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values() if t.dim() > 0)
    master = sum(p.numel() * p.element_size() for p in model.parameters())
    half = torch.empty(n, dtype=torch.float16).element_size() * n
    per_param = (adam + master + 2 * half) / n
    assert per_param == 16
    assert claim("mixed-precision-training", r"costs about\s+" + NUM + r" bytes per parameter") == per_param
    assert claim("mixed-precision-training", r"每个参数约占\s*" + NUM + r"\s*字节", "zh") == per_param
    for cid in ("memory-compute-issues", "gradient-accumulation"):
        assert claim(cid, NUM + r" bytes per parameter") == per_param, cid


def test_kv_cache_llama2_7b() -> None:
    p = kvc.PRESETS["llama2-7b"]
    per_token = kvc.bytes_per_token(p)
    assert per_token == 2 * 32 * 32 * 128 * 2 == 512 * KIB
    assert claim("kv-cache-size-formula", r"needs\s+" + NUM + r" KiB per token") * KIB == per_token
    assert claim("kv-cache-size-formula", r"每个 token 需要\s*" + NUM + r" KiB", "zh") * KIB == per_token
    seq = kvc.preset_cache_bytes(p, 4096)
    assert claim("kv-cache-size-formula", r"sequence takes\s+" + NUM + " GiB") * GIB == seq
    assert claim("kv-cache-size-formula", r"batch of 32 takes\s+" + NUM + " GiB") * GIB == kvc.preset_cache_bytes(p, 4096, 32)
    assert claim("kv-cache-size-formula", r"batch 32 时\s*" + NUM + " GiB", "zh") * GIB == kvc.preset_cache_bytes(p, 4096, 32)
    assert claim("kv-cache-size-formula", r"than the\s+" + NUM + " GB of weights") == pytest.approx(p.params * 2 / 1e9, abs=0.05)
    # the older kv-cache card: 0.5 MiB/token, 2 GiB per 4096 tokens, 32 GiB at batch 16
    assert claim("kv-cache", r"=" + NUM + r"\\,\\text\{MiB\}") * MIB == per_token
    assert claim("kv-cache", r"i\.e\.\s+" + NUM + r" GiB per 4096-token") * GIB == seq
    assert claim("kv-cache", NUM + r" GiB at batch 16") * GIB == kvc.preset_cache_bytes(p, 4096, 16)


def test_kv_cache_gqa_models() -> None:
    l3 = kvc.PRESETS["llama3-8b"]
    assert claim("kv-cache-size-formula", r"8 KV heads:\s+" + NUM + " KiB per token") * KIB == kvc.bytes_per_token(l3)
    assert claim("kv-cache-size-formula", NUM + " GiB for 8192 tokens") * GIB == kvc.preset_cache_bytes(l3, 8192)
    fu = _bank().by_id["kv-cache-size-formula"].followups[0].answer
    m = re.search(r"=\s*" + NUM + r"\$? KiB", fu.en.replace("\\text{ KiB}", " KiB"))
    assert m and float(m.group(1)) * KIB == kvc.bytes_per_token(l3)
    assert "128" in fu.zh
    # Llama-2-70B: 80 layers, 8 KV heads, d_head 128, fp16 → 320 KiB per token
    assert claim("kv-cache", r"about\s+" + NUM + " KiB per token") * KIB == kvc.cache_bytes(80, 8, 128, 1)


def test_mha_vs_gqa_cache_example() -> None:
    per_layer = kvc.cache_bytes(1, 64, 128, 1)
    assert claim("mha-mqa-gqa", r"=" + NUM + r"\\,\\text\{KiB\}") * KIB == per_layer
    assert claim("mha-mqa-gqa", NUM + r" MiB per token over 80 layers") * MIB == kvc.cache_bytes(80, 64, 128, 1)
    assert claim("mha-mqa-gqa", r"about\s+" + NUM + r" GiB per 4096-token") * GIB == kvc.cache_bytes(80, 64, 128, 4096)
    assert claim("mha-mqa-gqa", r"smaller, about\s+" + NUM + " GiB") * GIB == kvc.cache_bytes(80, 8, 128, 4096)


def test_gqa_savings_factors() -> None:
    en = text("gqa-kv-cache-savings", "en")
    assert re.search(r"(\d+)× smaller with 32 query heads and 8 KV heads", en).group(1) == str(32 // 8)
    assert re.search(r"(\d+)× smaller for Llama-2-70B's 64 heads", en).group(1) == str(64 // 8)
    zh = text("gqa-kv-cache-savings", "zh")
    assert "缩小 4 倍" in zh and "缩小 8 倍" in zh


def test_arithmetic_intensity_and_decode_bound() -> None:
    flops, bw = kvc.GPUS["A100 80GB SXM"]
    assert claim("kv-cache-size-formula", r"A100 needs about\s+" + NUM) == pytest.approx(flops / bw, rel=0.05)
    assert claim("prefill-vs-decode", r"\\approx" + NUM + r"\$; with") == pytest.approx(312 / 2)
    # 14 GB of fp16 weights at 2 TB/s → 140 tokens/s at batch 1
    assert claim("prefill-vs-decode", r"at most about\s+" + NUM + " tokens/s") == pytest.approx(2e12 / 14e9, rel=0.03)
    # one head: 2·T·d_head FLOPs for T·d_head·2 bytes of fp16 keys → 1 FLOP per byte
    T, dh = 4096, 128
    assert (2 * T * dh) / (T * dh * 2) == 1
    assert re.search(r"about 1 FLOP per byte", text("kv-cache-size-formula"))


def test_mla_cache_numbers() -> None:
    n_h, d_h, d_c, d_r = 128, 128, 512, 64
    assert claim("multi-head-latent-attention", r"2\\times128\\times128=" + NUM) == 2 * n_h * d_h
    assert claim("multi-head-latent-attention", r"512\+64=" + NUM) == d_c + d_r
    assert claim("multi-head-latent-attention", r"about\s+" + NUM + r" KV head groups") == (d_c + d_r) / (2 * d_h)


def test_sliding_window_receptive_field() -> None:
    assert claim("sliding-window-attention", r"32 layers, about\s+" + NUM + "K") == pytest.approx(4096 * 32 / 1000, abs=0.5)


# ---- positional encoding ---------------------------------------------------------------------

def test_pe_norm_and_embedding_scale() -> None:
    pe = sinusoidal_positional_encoding(100, 512)
    norms = pe.norm(dim=-1)
    assert torch.allclose(norms, torch.full_like(norms, math.sqrt(256)), atol=1e-4)   # √(d/2) = 16
    assert claim("embedding-scale-sqrt-dmodel", r"which is\s+" + NUM + r" for \$d_\{model\}=512\$") == 16
    assert claim("embedding-scale-sqrt-dmodel", r"\\approx" + NUM + r"\$, comparable") == pytest.approx(math.sqrt(512), abs=0.05)
    # the hand-written PE card: first row sin = 0, cos = 1, norm √(d/2)
    assert torch.equal(pe[0, 0::2], torch.zeros(256)) and torch.equal(pe[0, 1::2], torch.ones(256))
    assert r"\sqrt{d/2}" in text("handwrite-positional-encoding")


def test_rope_lowest_frequency_wavelength() -> None:
    d = 128
    lam = 2 * math.pi * 10000 ** ((d - 2) / d)
    assert claim("rope-position-interpolation", r"\\approx" + NUM + r"\$ tokens") == pytest.approx(lam, rel=0.01)
    assert claim("rope-position-interpolation", r"\\approx" + NUM + r"\$ 万个 token", "zh") * 1e4 == pytest.approx(lam, rel=0.01)
    # NTK-aware base: the lowest frequency is compressed exactly s-fold
    s = 8.0
    b2 = 10000 * s ** (d / (d - 2))
    assert (10000 ** (-(d - 2) / d)) / (b2 ** (-(d - 2) / d)) == pytest.approx(s)


def test_rope_scores_depend_only_on_offset() -> None:
    from demos.rope import rope_reference
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(1, 1, 1, 64, generator=g), torch.randn(1, 1, 1, 64, generator=g)
    def score(m: int, n: int) -> float:
        return (rope_reference(q, torch.tensor([m])) * rope_reference(k, torch.tensor([n]))).sum().item()
    assert score(7, 3) == pytest.approx(score(107, 103), abs=1e-4)


# ---- training ---------------------------------------------------------------------------------

def test_noam_peak_learning_rate() -> None:
    peak = 512**-0.5 * 4000**-0.5
    for cid in ("noam-warmup-schedule", "transformer-lr-and-dropout"):
        assert claim(cid, r"(?:\\approx|about \$)\s*" + NUM + r"\\times10\^\{-4\}") * 1e-4 == pytest.approx(peak, rel=0.01)
    assert claim("noam-warmup-schedule", r"\\approx" + NUM + r"\\times10\^\{-4\}\$\.") * 1e-4 == pytest.approx(
        512**-0.5 * 100000**-0.5, rel=0.02)


def test_label_smoothing_optimum_numbers() -> None:
    eps, K = 0.1, 37000
    q = torch.full((K,), eps / K, dtype=torch.float64)
    q[0] += 1 - eps
    logits = q.log().requires_grad_()
    loss = F.cross_entropy(logits[None], torch.tensor([0]), label_smoothing=eps)
    loss.backward()
    assert logits.grad.abs().max().item() < 1e-12                  # p = q' is the optimum
    h = -(q * q.log()).sum().item()
    assert loss.item() == pytest.approx(h)
    nll = -math.log(1 - eps + eps / K)
    for v in claims("label-smoothing-formula", r"\\ge\s*" + NUM):
        assert v == pytest.approx(nll, abs=0.001)
    assert claim("label-smoothing-formula", r"perplexity is at least about\s+" + NUM) == pytest.approx(math.exp(nll), abs=0.005)
    assert claim("label-smoothing-formula", r"困惑度至少约\s*" + NUM, "zh") == pytest.approx(math.exp(nll), abs=0.005)
    for v in claims("label-smoothing-formula", r"H\(q'\)\\approx" + NUM):
        assert v == pytest.approx(h, abs=0.005)
    gap = math.log((1 - eps + eps / K) / (eps / K))
    assert claim("label-smoothing-formula", r"\(about\s+" + NUM + " above\\)") == pytest.approx(gap, abs=0.05)
    assert claim("label-smoothing-formula", r"上例约\s*" + NUM, "zh") == pytest.approx(gap, abs=0.05)


def test_handwritten_label_smoothing_matches_pytorch() -> None:
    """The code on the card (eps/V on every class) is PyTorch's definition."""
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(6, 11, generator=g), torch.tensor([1, 2, -100, 4, 0, -100])
    logp = logits.log_softmax(-1)
    keep = target != -100
    nll = -logp.gather(-1, target.clamp_min(0)[:, None]).squeeze(-1)
    mine = ((0.9 * nll + 0.1 * (-logp.mean(-1)))[keep]).mean()
    assert mine.item() == pytest.approx(F.cross_entropy(logits, target, label_smoothing=0.1).item(), abs=1e-6)
    assert "loss[keep].mean()" in text("handwrite-label-smoothing")


# ---- decoding ---------------------------------------------------------------------------------

def test_gnmt_length_penalty_example() -> None:
    def lp(n: int, alpha: float = 0.6) -> float:
        return (5 + n) ** alpha / 6**alpha
    assert lp(1) == 1
    a, b = -6 / lp(5), -8 / lp(12)
    assert b > a > -6                                                   # normalisation flips the order
    for lang in ("en", "zh"):
        t = text("gnmt-length-penalty", lang)
        stated = [float(x) for x in re.findall(r"(-?[0-9]+\.[0-9]+)", t)]
        for value in (lp(5), lp(12), a, b):
            assert any(abs(s - value) < 0.006 for s in stated), (lang, value, stated)


def test_min_p_thresholds() -> None:
    for pmax, thr in ((0.9, 0.09), (0.2, 0.02)):
        assert pmax * 0.1 == pytest.approx(thr)
        assert f"threshold {thr}" in text("min-p-sampling") and f"阈值 {thr}" in text("min-p-sampling", "zh")


def test_vocabulary_embedding_size() -> None:
    assert claim("vocabulary-size-tradeoff", r"about\s+" + NUM + "B parameters") == pytest.approx(128256 * 4096 / 1e9, abs=0.05)


# ---- numbers in follow-up answers ------------------------------------------------------------

def test_llama2_7b_parameter_estimate() -> None:
    d, L, hidden, V = 4096, 32, 11008, 32000
    attn, ffn = 4 * d * d, 3 * d * hidden
    total = L * (attn + ffn + 2 * d) + 2 * V * d + d
    assert total == kvc.PRESETS["llama2-7b"].params                   # 6,738,415,616
    assert claims("transformer-parameter-count", r"4d\^2\\approx" + NUM) == [pytest.approx(attn / 1e6, abs=0.05)] * 2
    assert claims("transformer-parameter-count", r"11008\\approx" + NUM) == [pytest.approx(ffn / 1e6, abs=0.05)] * 2
    assert claim("transformer-parameter-count", r"total is about\s+" + NUM + "B") == pytest.approx(total / 1e9, abs=0.005)
    assert claim("transformer-parameter-count", r"总数约\s*" + NUM + "B", "zh") == pytest.approx(total / 1e9, abs=0.005)


def test_decode_ceiling_int4() -> None:
    for v in claims("deployment-hardware", r"3.5\\,\\text\{GB\}\\approx" + NUM):
        assert v == pytest.approx(2e12 / 3.5e9, rel=0.01)


def test_vit_sequence_length_and_gelu_approximation() -> None:
    patches = (224 // 16) ** 2
    assert claims("vision-transformer", r"14\\times14=" + NUM) == [patches] * 2
    assert claims("vision-transformer", r"(?:448 gives|448 时 patch 数变成)\s*" + NUM) == [(448 // 16) ** 2] * 2
    exact = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    approx = 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (1 + 0.044715)))
    assert claims("gelu-vs-relu", r"\\Phi\(1\)\\approx" + NUM) == [pytest.approx(exact, abs=5e-5)] * 2
    assert claims("gelu-vs-relu", r"(?:gives about|近似约)\s*" + NUM) == [pytest.approx(approx, abs=5e-5)] * 2


def test_alibi_slopes_for_8_heads() -> None:
    slopes = [2 ** (-8 * i / 8) for i in range(1, 9)]
    assert slopes[0] == 1 / 2 and slopes[-1] == 1 / 256
    for lang in ("en", "zh"):
        assert r"1/2,1/4,\dots,1/256" in text("alibi", lang)


def test_bpe_and_wordpiece_worked_example() -> None:
    words = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    pairs: dict[str, int] = {}
    chars: dict[str, int] = {}
    for w, f in words.items():
        for a, b in zip(w, w[1:], strict=False):
            pairs[a + b] = pairs.get(a + b, 0) + f
        for ch in w:
            chars[ch] = chars.get(ch, 0) + f
    t = text("wordpiece-vs-bpe")
    for pair in ("ug", "pu", "un", "hu"):
        assert f'"{pair[0]} {pair[1]}"={pairs[pair]}' in t
    assert f"\\frac{{{pairs['ug']}}}{{{chars['u']}\\times{chars['g']}}}" in t
    assert f"\\frac{{{pairs['gs']}}}{{{chars['g']}\\times{chars['s']}}}" in t
    ratio = {p: c / (chars[p[0]] * chars[p[1]]) for p, c in pairs.items()}
    assert max(ratio, key=ratio.get) == "gs" and max(pairs, key=pairs.get) == "ug"


def test_gelu_minimum_and_temperature_entropy() -> None:
    x = torch.linspace(-3, 0, 300_001, dtype=torch.float64)
    y = F.gelu(x)
    i = int(y.argmin())
    assert claims("gelu-vs-relu", r"\$x\\approx" + NUM) == [pytest.approx(x[i].item(), abs=0.01)] * 2
    assert claims("gelu-vs-relu", r"(?:minimum of about|最小值约)\s*\$(-?[0-9.]+)\$") == [pytest.approx(y[i].item(), abs=0.005)] * 2
    # entropy of softmax(z / T) never decreases with T (dH/dT = Var_p(z) / T^3 >= 0)
    z = torch.randn(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ents = [torch.distributions.Categorical(logits=z / T).entropy().item() for T in (0.1, 0.3, 0.7, 1, 2, 5, 50)]
    assert ents == sorted(ents) and ents[-1] == pytest.approx(math.log(50), abs=0.01)
    assert "increases monotonically" in text("sampling-temperature")


def test_zero_sublayer_post_ln_gives_layernorm_not_identity() -> None:
    """residual-connection: with F = 0, Post-LN outputs LN(x); Pre-LN's trunk passes x unchanged."""
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0)) * 3 + 1
    ln = nn.LayerNorm(16)
    post, pre = ln(x + 0.0), x + 0.0
    assert not torch.allclose(post, x) and torch.allclose(post, F.layer_norm(x, (16,)), atol=1e-6)
    assert torch.equal(pre, x)
    assert r"\mathrm{LN}(x)" in text("residual-connection") and r"\mathrm{LN}(x)" in text("residual-connection", "zh")
