"""FFN & cost demo: parameter counts equal our model's, FLOP formulas and the crossover."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from demos import ffn_cost as fc
from model import Transformer, TransformerConfig


@pytest.mark.parametrize("d,d_ff,h", [(64, 256, 4), (128, 512, 8), (48, 100, 3)])
def test_param_counts_equal_the_model(d: int, d_ff: int, h: int) -> None:
    real = fc.model_params(d, d_ff, 2, h)
    assert real["attn"] == fc.attn_params(d) == 4 * d * d + 4 * d
    assert real["ffn"] == fc.ffn_params(d, d_ff) == 2 * d * d_ff + d_ff + d
    assert real["encoder_layer"] == fc.encoder_layer_params(d, d_ff)
    assert real["decoder_layer"] == fc.decoder_layer_params(d, d_ff)


def test_param_counts_on_a_real_built_model() -> None:
    """Not only meta-device modules: the weights of an actual Transformer, block by block."""
    cfg = TransformerConfig(src_vocab_size=50, tgt_vocab_size=50, d_model=64, n_heads=4, n_layers=2, d_ff=256)
    net = Transformer(cfg)
    enc = net.encoder.layers[0]
    assert sum(p.numel() for p in enc.self_attn.parameters()) == fc.attn_params(64)
    assert sum(p.numel() for p in enc.ffn.parameters()) == fc.ffn_params(64, 256) == 33088
    assert sum(p.numel() for p in enc.parameters()) == fc.encoder_layer_params(64, 256)
    assert sum(p.numel() for p in net.decoder.layers[1].parameters()) == fc.decoder_layer_params(64, 256)
    blocks = sum(p.numel() for p in net.encoder.parameters()) + sum(p.numel() for p in net.decoder.parameters())
    assert blocks == 2 * (fc.encoder_layer_params(64, 256) + fc.decoder_layer_params(64, 256))


def _matmul_flops(a: torch.Tensor, b: torch.Tensor) -> int:
    """2·m·k·n for (m×k)·(k×n), from real shapes."""
    (m, k), (_, n) = a.shape, b.shape
    return 2 * m * k * n


def test_flop_formulas_from_shapes() -> None:
    n, d, d_ff = 10, 16, 64
    x = torch.zeros(n, d)
    w = torch.zeros(d, d)
    q = k = torch.zeros(n, d)
    f = fc.block_flops(n, d, d_ff)
    assert f["proj_qkvo"] == 4 * _matmul_flops(x, w)
    assert f["scores_qk"] == _matmul_flops(q, k.T)
    assert f["weights_v"] == _matmul_flops(torch.zeros(n, n), torch.zeros(n, d))
    assert f["ffn"] == _matmul_flops(x, torch.zeros(d, d_ff)) + _matmul_flops(torch.zeros(n, d_ff), torch.zeros(d_ff, d))


@pytest.mark.parametrize("d", [64, 512, 1024])
def test_crossover_at_4d(d: int) -> None:
    n = fc.crossover(d)
    assert n == 4 * d
    f = fc.block_flops(n, d, 4 * d)
    attn_n2 = f["scores_qk"] + f["weights_v"]
    assert attn_n2 == pytest.approx(f["ffn"])                 # 4n²d = 16nd² exactly at n = 4d
    below, above = fc.block_flops(n - 1, d, 4 * d), fc.block_flops(n + 1, d, 4 * d)
    assert below["scores_qk"] + below["weights_v"] < below["ffn"]
    assert above["scores_qk"] + above["weights_v"] > above["ffn"]


@pytest.mark.parametrize("d", [64, 512, 1024])
def test_n2_share_of_the_block(d: int) -> None:
    """demo_ffn.exp_flops and the attention lesson: the n² terms equal the FFN at n = 4d (40 % of
    the block) and reach half of the block only at n = 6d; at n = 4096, d = 512 they are 4/7."""
    def share(n: int) -> float:
        f = fc.block_flops(n, d, 4 * d)
        return float((f["scores_qk"] + f["weights_v"]) / sum(f.values()))

    assert share(4 * d) == pytest.approx(0.4)
    assert share(6 * d) == pytest.approx(0.5)
    assert share(5 * d) < 0.5 < share(7 * d)
    if d == 512:
        assert share(4096) == pytest.approx(4 / 7)


def test_ffn_share_encoder_two_thirds_decoder_about_half() -> None:
    """demo_ffn.intro / exp_ffn: ≈ 2/3 of an encoder layer, ≈ 1/2 (slightly less) of a decoder layer."""
    for d in (64, 512, 1024):
        real = fc.model_params(d, 4 * d, 1, 8)
        assert real["ffn"] / real["encoder_layer"] == pytest.approx(2 / 3, abs=0.005)
        dec = real["ffn"] / real["decoder_layer"]
        assert dec == pytest.approx(0.5, abs=0.005) and dec < 0.5


def test_attention_memory() -> None:
    assert fc.attention_matrix_bytes(1024, "fp32") == 1024 * 1024 * 4
    assert fc.attention_matrix_bytes(1024, "fp16", heads=8, layers=6) == 1024 ** 2 * 2 * 48
    b = fc.attention_matrix_bytes(np.array([1000, 2000]))
    assert b[1] / b[0] == 4                                   # quadratic in n
    assert fc.human_bytes(4 * 2 ** 20) == "4.0 MiB"
    assert fc.human_bytes(512) == "512 B"


def test_seq_grid() -> None:
    g = fc.seq_grid(120)
    assert g[0] == 16 and g[-1] == 16384 and g.dtype.kind == "i"
    assert np.all(np.diff(g) > 0) and len(g) == 120            # no two steps round to the same length
    assert list(fc.seq_grid(4)) == [16, 161, 1625, 16384]       # 16 · 1024^(k/3), rounded


# -- the page (AppTest) ---------------------------------------------------------------------------

from questions.schema import DEMO_SECTIONS  # noqa: E402
from tests.apptest import open_page  # noqa: E402


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["ffn_cost"])
def test_page_sections_render(section: str, lang: str) -> None:
    at = open_page("ffn_cost", lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert section in [b.value for b in at.button_group]
    assert len(at.get("plotly_chart")) >= 1


def test_page_numbers() -> None:
    at = open_page("ffn_cost", "en", section="ffn", d_model="512")
    assert not at.exception
    assert at.metric[0].value == f"{fc.ffn_params(512, 2048):,}"
    assert at.metric[1].value == f"{fc.attn_params(512):,}"
    assert "✓" in " ".join(m.value for m in at.markdown)           # formula == model's real count
    at = open_page("ffn_cost", "en", section="flops", d_model="256", seq_len="1024")
    assert not at.exception
    assert at.metric[2].value == "1,024"                              # crossover n = 4d
    # at n = 4d the n² terms equal the FFN; with the projections (8nd²) they are 4n/(24d + 4n) = 40%
    assert at.metric[1].value == "40.0%"
