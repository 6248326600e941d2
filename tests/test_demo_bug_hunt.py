"""Bug hunt: the shipped buggy models, the evidence that tells each bug apart, rounds and score."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from demos import bug_hunt as B
from model.decoder import BUGS
from study.stores import open_store
from tests.apptest import open_page

PROMPT = "Q: What is attention?\nA: Attention"
FLAG = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and on a busy 2-core machine two threads can be 30x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_at_least_six_bugs_and_small_assets() -> None:
    assert len(BUGS) >= 6 and B.NAMES == ("clean", *BUGS)
    sizes = {n: (B.BUG_DIR / f"{n}.pt").stat().st_size for n in B.NAMES}
    assert max(sizes.values()) < 1_000_000
    assert sum(sizes.values()) < 5_000_000


@pytest.fixture(scope="module")
def ev() -> dict[str, B.Evidence]:
    out = {}
    for name in B.NAMES:
        m = B.load(name)
        ids = m.encode(PROMPT)
        out[name] = B.evidence(m.net, ids, n_new=30)
    return out


def _flags(e: B.Evidence) -> tuple[bool, bool, bool, bool]:
    return e.row_sums > FLAG, e.upper_mass > FLAG, e.leak > FLAG, e.cache_diff > FLAG


def test_prompt_encoding_and_labels() -> None:
    m = B.load("clean")
    ids = m.encode("Q: 注意力\n" + "\ufffd")
    assert [m.label(i) for i in ids] == ["Q", ":", "␣", "注", "意", "力", "↵"]
    assert m.tok.decode(ids) == "Q: 注意力\n"                   # itos[0] (not a typed character) dropped
    assert len(m.encode("a" * 100)) == 64 and m.encode("a" * 100, max_chars=10) == m.encode("a" * 10)


def test_clean_model_reads_normal(ev) -> None:
    assert _flags(ev["clean"]) == (False, False, False, False)
    assert ev["clean"].gen_cached == ev["clean"].gen_full


@pytest.mark.parametrize("bug,flags", [
    ("mask_transposed", (False, True, True, None)),
    ("mask_off_by_one", (False, True, True, None)),
    ("softmax_wrong_axis", (True, None, True, True)),
    ("norm_wrong_axis", (False, False, True, True)),
    ("cache_not_updated", (False, False, False, True)),
    ("no_scale", (False, False, False, False)),
    ("no_positions", (False, False, False, False)),
    ("rope_on_v", (False, False, False, False)),
])
def test_probes_tell_the_bugs_apart(ev, bug: str, flags) -> None:
    got = _flags(ev[bug])
    for g, want in zip(got, flags, strict=True):
        if want is not None:
            assert g == want, (bug, got)


def test_loss_curves_show_the_leaks() -> None:
    final = {n: B.load(n).history[-1] for n in B.NAMES}
    clean = final["clean"][1]
    for leaky in ("mask_transposed", "mask_off_by_one", "softmax_wrong_axis"):
        assert final[leaky][1] < 0.8 * clean          # a leak makes the training loss far too low
    # the cache is not used in training: the curve follows the correct model's (the bugged model takes the
    # explicit attention path instead of SDPA, so float rounding differs slightly)
    assert abs(final["cache_not_updated"][1] - clean) < 0.1 * clean
    assert final["no_positions"][2] > final["clean"][2]


def test_attention_sharpness(ev) -> None:
    # no ÷√d_k: sharper attention (lower row entropy) than the correct model; no positions: more diffuse
    assert ev["no_scale"].entropy < 0.75 * ev["clean"].entropy
    assert ev["no_positions"].entropy > 1.5 * ev["clean"].entropy


def test_cache_bug_only_shows_in_incremental_decoding(ev) -> None:
    e = ev["cache_not_updated"]
    assert e.gen_cached != e.gen_full
    assert e.leak < FLAG and e.row_sums < FLAG


def test_rounds_and_score() -> None:
    seen = [B.pick_bug(7, r) for r in range(len(BUGS))]
    assert sorted(seen) == sorted(BUGS)                # every bug once per cycle
    assert B.pick_bug(7, 3) == B.pick_bug(7, 3)
    rec = B.new_record()
    bug = B.pick_bug(7, 0)
    rec = B.answer(rec, bug, bug)
    assert rec["score"] == 1 and rec["answered"] == 1 and B.answered_this_round(rec)["correct"]
    assert B.answer(rec, bug, "no_scale") == rec        # a second answer in the same round does not count
    rec = B.next_round(rec)
    assert B.answered_this_round(rec) is None
    other = next(b for b in BUGS if b != B.pick_bug(7, 1))
    rec = B.answer(rec, B.pick_bug(7, 1), other)
    assert rec["score"] == 1 and rec["answered"] == 2 and not rec["history"][-1]["correct"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_answer_is_scored_and_saved(lang: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TIL_DB", str(tmp_path / "p.sqlite3"))
    at = open_page("bug_hunt", lang, timeout=180, layer="2", head="3")
    assert at.query_params["layer"] in ("2", ["2"])
    radio = at.radio(key="bug_hunt:guess:0")
    s = open_store(str(tmp_path / "p.sqlite3"))
    me = s.profiles()[0]
    bug = B.pick_bug(me.id, 0)
    radio.set_value(bug).run()
    at.button(key="bug_hunt:submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success, "a right answer is confirmed"
    rec = s.get_setting(me.id, B.SETTING)
    assert rec["score"] == 1 and rec["answered"] == 1 and rec["history"][0]["bug"] == bug
