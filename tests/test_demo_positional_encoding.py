"""Positional-encoding demo: every numeric claim of the page."""
from __future__ import annotations

import math

import numpy as np
import pytest

from demos import positional_encoding as pe


@pytest.mark.parametrize("d", [16, 64, 512])
@pytest.mark.parametrize("k", [1, 7, 50])
def test_rotation_identity(d: int, k: int) -> None:
    err = pe.rotation_error(200, d, k)
    assert err < 1e-6
    m = pe.rotation_matrix(k, d)
    # block-diagonal: nothing outside the 2x2 blocks, and each block is a rotation (orthogonal)
    mask = np.kron(np.eye(d // 2), np.ones((2, 2))).astype(bool)
    assert np.all(m[~mask] == 0)
    np.testing.assert_allclose(m @ m.T, np.eye(d), atol=1e-12)
    # a wrong matrix (the transpose: rotating the other way) does NOT satisfy the identity
    table = pe.pe_table(200, d)
    assert np.abs(table[k:] - table[:-k] @ m).max() > 1e-3


def test_rotation_check_for_the_page() -> None:
    m, err, wrong = pe.rotation_check(100, 64, 5)
    np.testing.assert_array_equal(m, pe.rotation_matrix(5, 64))
    assert err == pe.rotation_error(100, 64, 5) and err < 1e-12
    table = pe.pe_table(100, 64)
    assert wrong == float(np.abs(table[5:] - table[:-5] @ m).max()) and wrong > 0.5


def test_rotation_needs_even_d() -> None:
    with pytest.raises(ValueError):
        pe.rotation_matrix(3, 15)


def test_table_values() -> None:
    t = pe.pe_table(50, 8)
    assert t[0, 0] == 0 and t[0, 1] == 1
    assert t[3, 2] == pytest.approx(math.sin(3 / 10000 ** (2 / 8)))
    assert t[3, 3] == pytest.approx(math.cos(3 / 10000 ** (2 / 8)))


def test_wavelengths() -> None:
    d = 64
    lam = pe.wavelengths(d)
    assert lam.shape == (d,)
    for i in range(d // 2):
        expect = 2 * math.pi * 10000 ** (2 * i / d)
        assert lam[2 * i] == pytest.approx(expect) and lam[2 * i + 1] == pytest.approx(expect)
    assert lam[0] == pytest.approx(2 * math.pi)
    assert lam[-1] < 2 * math.pi * 10000 and lam[-1] > 2 * math.pi * 10000 ** (1 - 4 / d)
    # each dimension really repeats after its wavelength
    t = pe.pe_table(200, d)
    assert np.sin(2 * math.pi / lam[2]) == pytest.approx(t[1, 2])


def test_dot_product_depends_only_on_distance() -> None:
    d, L = 64, 120
    dots = pe.dot_matrix(pe.pe_table(L, d))
    for k in (0, 1, 5, 40):
        diag = np.diagonal(dots, offset=k)
        assert np.ptp(diag) < 1e-9                     # same value along every diagonal
        assert diag[0] == pytest.approx(float(pe.dot_by_distance(k, d)), abs=1e-9)
    assert dots[0, 0] == pytest.approx(d / 2)           # |PE|² = d/2 at every position
    np.testing.assert_allclose(dots, dots.T)            # symmetric: can't tell left from right


def test_diagonal_spread_and_closed_form_row() -> None:
    dots = pe.dot_matrix(pe.pe_table(60, 32))
    assert pe.diagonal_spread(dots) < 1e-9
    assert pe.diagonal_spread(np.array([[1.0, 2.0], [3.0, 5.0]])) == 4.0      # main diagonal 1 → 5
    np.testing.assert_allclose(pe.closed_form_by_distance(60, 32), dots[0], atol=1e-9)
    assert pe.closed_form_by_distance(60, 32)[0] == pytest.approx(16.0)        # d/2 at distance 0
    odd = pe.dot_matrix(pe.pe_table(60, 15))[0]                                # odd d: row 0 itself
    np.testing.assert_array_equal(pe.closed_form_by_distance(60, 15), odd)


def test_cosine_matrix() -> None:
    c = pe.cosine_matrix(np.array([[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]]))
    np.testing.assert_allclose(c, [[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_dot_product_by_distance_ripples() -> None:
    """lesson positional-encoding step 7, demo_pe.exp_similarity: largest at distance 0, lower
    overall with distance, but not monotonic (d_model = 64: it rises again from 5 to 6)."""
    d = pe.dot_by_distance(np.arange(50), 64)
    assert d[0] == pytest.approx(32.0) and d[1:].max() < d[0]
    assert d[6] > d[5]
    assert (np.diff(d) > 0).sum() >= 10                 # many small rises, not a monotone fall
    assert d[40:].mean() < d[1:10].mean()               # yet lower on the whole


def test_self_attention_without_positions_only_permutes() -> None:
    """demo_pe.intro, lessons: shuffle the words and self-attention's outputs shuffle the same way."""
    import torch

    from model import MultiHeadAttention

    torch.manual_seed(0)
    attn = MultiHeadAttention(32, 4).eval()
    x = torch.randn(1, 7, 32)
    perm = torch.randperm(7)
    with torch.no_grad():
        y = attn(x, x, x)
        y_perm = attn(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(y_perm, y[:, perm], rtol=1e-5, atol=1e-6)
    with torch.no_grad():                              # adding PE breaks it
        p = torch.tensor(pe.pe_table(7, 32), dtype=torch.float32)[None]
        xp = x + p
        z = attn(xp, xp, xp)
        z_perm = attn(x[:, perm] + p, x[:, perm] + p, x[:, perm] + p)
    assert not torch.allclose(z_perm, z[:, perm], atol=1e-3)


def test_shipped_learned_pe_matches_its_caption() -> None:
    """demo_pe.learned_sim_caption: neighbours more alike than far positions, similarity not a
    function of distance alone, the never-trained last position nearly unrelated to the others."""
    found = pe.learned_pe_from_checkpoints()
    if found is None:
        pytest.skip("no trained checkpoint with a learned positional embedding")
    table = found[1]
    unit = table / np.linalg.norm(table, axis=1, keepdims=True)
    cos = unit @ unit.T
    L = cos.shape[0]
    near = np.mean([cos[i, i + 1] for i in range(L - 2)])
    far = np.mean([cos[i, j] for i in range(L - 1) for j in range(L - 1) if abs(i - j) >= 4])
    assert near > 0.5 > far
    spread = max(np.ptp(np.diagonal(cos[:-1, :-1], offset=k)) for k in range(1, L - 2))
    assert spread > 0.3                                   # not constant along the diagonals
    assert np.abs(cos[-1, :-1]).max() < 0.2               # the last position: unrelated


def test_scale_stats_match_theory() -> None:
    s = pe.scale_stats(64, length=32)
    assert s["scale"] == 8.0
    np.testing.assert_allclose(s["pos"], math.sqrt(32), rtol=1e-6)        # |PE| = √(d/2)
    np.testing.assert_allclose(s["scaled"], 8.0 * s["raw"], rtol=1e-6)
    assert 0.7 < s["raw"].mean() < 1.3                                     # init N(0, 1/d): |e| ≈ 1
    # without the scale the position dominates the sum; with it the token does
    assert s["cos_pos_unscaled"].mean() > 0.95 and s["pe_share_unscaled"].mean() > 0.9
    assert s["cos_pos_scaled"].mean() < 0.7 and s["pe_share_scaled"].mean() < 0.5


def test_no_checkpoint_dir(tmp_path) -> None:
    assert pe.learned_pe_from_checkpoints(tmp_path / "missing") is None
    assert pe.learned_pe_from_checkpoints(tmp_path) is None
    assert pe.checkpoint_files(tmp_path / "missing") == (str(tmp_path / "missing"), ())


def test_checkpoint_files_change_with_the_files(tmp_path) -> None:
    assert pe.checkpoint_files(tmp_path) == (str(tmp_path), ())
    (tmp_path / "b.pt").write_bytes(b"12345")
    (tmp_path / "notes.txt").write_bytes(b"x")
    (tmp_path / "a.pt").write_bytes(b"1")
    first = pe.checkpoint_files(tmp_path)
    assert [(n, size) for n, _, size in first[1]] == [("a.pt", 1), ("b.pt", 5)]
    (tmp_path / "a.pt").write_bytes(b"12")
    assert pe.checkpoint_files(tmp_path) != first


def test_learned_pe_found_in_checkpoint(tmp_path) -> None:
    import torch

    from model import Transformer, TransformerConfig

    net = Transformer(TransformerConfig(10, 10, d_model=16, max_len=20, pos_encoding="learned"))
    torch.save({"config": {"d_model": 16}, "model": net.state_dict()}, tmp_path / "a.pt")
    (tmp_path / "0broken.pt").write_bytes(b"not a checkpoint")
    name, table = pe.learned_pe_from_checkpoints(tmp_path)
    assert name == "a.pt" and table.shape == (20, 16)
    np.testing.assert_allclose(table, net.pos_embed.detach().double().numpy())


# -- the page (AppTest) ---------------------------------------------------------------------------

from questions.schema import DEMO_SECTIONS  # noqa: E402
from tests.apptest import open_page  # noqa: E402


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["positional_encoding"])
def test_page_sections_render(section: str, lang: str) -> None:
    at = open_page("positional_encoding", lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert section in [b.value for b in at.button_group]
    assert len(at.get("plotly_chart")) >= 1


def test_page_rotation_numbers_and_url_params() -> None:
    at = open_page("positional_encoding", "en", section="rotation", d_model="128", length="60", k="9")
    assert not at.exception
    assert at.slider(key="positional_encoding:d_model").value == 128
    err = float(at.metric[0].value)
    assert err < 1e-6
    assert err == pytest.approx(pe.rotation_error(60, 128, 9), rel=1e-2, abs=1e-15)
    assert at.query_params["k"] == "9"


def test_page_odd_d_model_and_bad_param() -> None:
    at = open_page("positional_encoding", "en", section="rotation", d_model="33")
    assert not at.exception and at.warning            # rotation needs an even d_model: clear message
    at = open_page("positional_encoding", "en", section="heatmap", d_model="banana", length="99999")
    assert not at.exception
    assert at.slider(key="positional_encoding:d_model").value == 64     # fell back to the default


def test_page_scale_numbers() -> None:
    at = open_page("positional_encoding", "en", section="scale", d_model="64")
    assert not at.exception
    assert at.metric[0].value == "8.00"


def test_scale_stats_are_the_models_trace_embeddings() -> None:
    """scale_stats reads the embedding step directly; it equals what Trace.embeddings records."""
    import torch

    from model import Transformer, TransformerConfig

    d, L, vocab = 32, 16, 200
    cfg = TransformerConfig(src_vocab_size=vocab, tgt_vocab_size=vocab, d_model=d, n_heads=1, n_layers=1,
                            d_ff=8, max_len=L, dropout=0.0, seed=0)
    net = Transformer(cfg).eval()
    src = torch.randint(4, vocab, (1, L), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, tr = net(src, src[:, :2], trace=True)
    emb = tr.embeddings["src"]
    s = pe.scale_stats(d, length=L)
    np.testing.assert_allclose(s["raw"], emb["raw"][0].double().norm(dim=-1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(s["scaled"], emb["scaled"][0].double().norm(dim=-1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(s["sum_scaled"], emb["sum"][0].double().norm(dim=-1).numpy(), rtol=1e-5)


def test_page_shows_learned_pe_beside_the_sinusoid(tmp_path, monkeypatch) -> None:
    import streamlit as st
    import torch

    from model import Transformer, TransformerConfig

    net = Transformer(TransformerConfig(10, 10, d_model=16, max_len=40, pos_encoding="learned"))
    torch.save({"model": net.state_dict()}, tmp_path / "learned.pt")
    monkeypatch.setattr(pe, "CHECKPOINT_DIR", tmp_path)
    st.cache_data.clear()
    try:
        at = open_page("positional_encoding", "en", section="heatmap")
        assert not at.exception
        assert len(at.get("plotly_chart")) == 2 and not at.info
        monkeypatch.setattr(pe, "CHECKPOINT_DIR", tmp_path / "none")
        st.cache_data.clear()
        at = open_page("positional_encoding", "en", section="heatmap")
        assert len(at.get("plotly_chart")) == 1 and at.info              # "no trained model yet"
    finally:
        st.cache_data.clear()
