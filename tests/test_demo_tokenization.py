"""Tokenization demo: BPE / WordPiece merges on a tiny corpus, checked by hand."""
from __future__ import annotations

import pytest

from demos import tokenization as tk


def test_bpe_merges_by_hand() -> None:
    # "low"×5 "lower"×2 "newest"×6 "widest"×3 (Sennrich et al.'s toy corpus)
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    base, steps = tk.learn_bpe(counts, 4)
    assert base == ["l", "o", "w", "</w>", "e", "r", "n", "s", "t", "i", "d"]
    # step 1 candidates: (e,s) 6+3=9, (s,t) 9, (t,</w>) 9, (l,o) 7, (o,w) 7, (w,e) 2+6=8 ...
    table = {(a, b): c for a, b, c, _ in steps[0].table}
    assert table[("e", "s")] == 9 and table[("s", "t")] == 9 and table[("l", "o")] == 7
    assert table[("w", "e")] == 8 and table[("w", "</w>")] == 5
    # ties (9) go to the pair seen first: (e, s) comes before (s, t) in "newest"
    assert [s.pair for s in steps] == [("e", "s"), ("es", "t"), ("est", "</w>"), ("l", "o")]
    assert [s.count for s in steps] == [9, 9, 9, 7]
    assert steps[2].splits["newest"] == ["n", "e", "w", "est</w>"]
    assert steps[3].vocab[-4:] == ["es", "est", "est</w>", "lo"]


def test_wordpiece_scores_by_hand() -> None:
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    base, steps = tk.learn_wordpiece(counts, 2)
    assert base[:4] == ["l", "##o", "##w", "##e"]
    table = {(a, b): (c, s) for a, b, c, s in steps[0].table}
    # count(w,##i)=3; count(w)=3 (start of "widest"); count(##i)=3 -> 3/9
    assert table[("w", "##i")] == (3, pytest.approx(3 / 9))
    # count(##s,##t)=9; count(##s)=9; count(##t)=9 -> 9/81
    assert table[("##s", "##t")] == (9, pytest.approx(9 / 81))
    # (l,##o): 7 / (7·7)
    assert table[("l", "##o")][1] == pytest.approx(1 / 7)
    assert steps[0].pair == ("w", "##i")            # rare pair of rare symbols wins WordPiece
    assert steps[1].pair == ("wi", "##d")            # 3 / (3·3) = 1/3 again


def test_bpe_and_wordpiece_differ() -> None:
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    _, b = tk.learn_bpe(counts, 5)
    _, w = tk.learn_wordpiece(counts, 5)
    assert tk.first_difference(b, w) == 0
    assert b[0].new == "es" and w[0].new == "wi"


def test_page_views_of_the_learners() -> None:
    text = "low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3
    corpus, bpe_base, bpe, wp_base, wp = tk.learn(text)
    assert corpus.counts == {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    assert (bpe_base, wp_base) == (tk.learn_bpe(corpus.counts)[0], tk.learn_wordpiece(corpus.counts)[0])
    assert [s.new for s in bpe] == [s.new for s in tk.learn_bpe(corpus.counts)[1]]
    # BPE step 1: (e, s) merged; it is also what BPE picks (count 9, first seen)
    labels, counts, scores, bpe_i, chosen = tk.pair_view(bpe[0])
    assert labels[chosen] == "e + s" and bpe_i == chosen and counts[chosen] == 9
    # WordPiece step 1 merged (w, ##i) (score 1/3); BPE would have taken (##e, ##s) (count 9, first seen)
    labels, counts, scores, bpe_i, chosen = tk.pair_view(wp[0])
    assert labels[chosen] == "w + ##i" and scores[chosen] == pytest.approx(1 / 3)
    assert labels[bpe_i] == "##e + ##s" and counts[bpe_i] == 9 and max(counts) == 9
    order = tk.top_scores(scores, 3)
    assert order[0] == chosen and [scores[i] for i in order] == sorted(scores, reverse=True)[:3]
    assert tk.top_scores([0.5, 0.9, 0.5], 2) == [1, 0]
    bn, wn, same = tk.side_by_side(bpe[:2], wp[:3])
    assert bn == ["es", "est", ""] and wn == ["wi", "wid", wp[2].new] and same == [False, False, False]
    assert tk.side_by_side(bpe[:1], bpe[:1]) == (["es"], ["es"], [True])
    assert tk.vocab_after(wp, wp_base, 0) == wp_base and tk.vocab_after([], wp_base, 3) == wp_base
    assert tk.vocab_after(wp, wp_base, 2) == wp[1].vocab and tk.vocab_after(wp, wp_base, 999) == wp[-1].vocab


def test_unseen_word_bpe_replay() -> None:
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    _, steps = tk.learn_bpe(counts, 6)     # es, est, est</w>, lo, low, ne
    assert [s.new for s in steps] == ["es", "est", "est</w>", "lo", "low", "ne"]
    pieces, history = tk.bpe_encode("lowest", [s.pair for s in steps])
    assert pieces == ["low", "est</w>"]
    assert history[0] == ["l", "o", "w", "e", "s", "t", "</w>"]
    assert tk.bpe_encode("xyz", [s.pair for s in steps])[0] == ["x", "y", "z", "</w>"]


def test_unseen_word_wordpiece_greedy() -> None:
    vocab = {"un", "##aff", "##able", "##a", "a", "##ff", "##b", "##le", "u", "##n"}
    assert tk.wordpiece_encode("unaffable", vocab) == ["un", "##aff", "##able"]   # BERT's example
    assert tk.wordpiece_encode("unable", vocab) == ["un", "##able"]
    assert tk.wordpiece_encode("xun", vocab) == ["[UNK]"]                         # no start piece
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    _, steps = tk.learn_wordpiece(counts, 10)
    assert tk.wordpiece_encode("lowest", steps[-1].vocab) == ["low", "##e", "##st"]


def test_bad_corpus_inputs() -> None:
    assert tk.parse_corpus("").counts == {}
    assert tk.parse_corpus("   \n ").counts == {}
    big = tk.parse_corpus("ab " * 5000)
    assert big.truncated and sum(big.counts.values()) == tk.MAX_CHARS // 3 + 1
    html = tk.parse_corpus("<script>alert('x')</script> <b>bold</b>")
    assert html.counts == {"script": 2, "alert": 1, "x": 1, "b": 2, "bold": 1}
    assert html.dropped_chars > 0
    emoji = tk.parse_corpus("😀 🎉")
    assert emoji.counts == {} and emoji.dropped_chars == 2
    many = tk.parse_corpus(" ".join(f"w{i}" for i in range(600)))
    assert many.capped_words and len(many.counts) == tk.MAX_WORDS
    assert tk.clean_word("  <b>Lowest</b>") == "b"
    assert tk.clean_word("Lowest!") == "lowest"
    assert tk.clean_word("!!!") == ""
    assert tk.learn_bpe({}, 5) == ([], [])


# -- the page (AppTest) ---------------------------------------------------------------------------

from questions.schema import DEMO_SECTIONS  # noqa: E402
from tests.apptest import open_page  # noqa: E402


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("section", DEMO_SECTIONS["tokenization"])
def test_page_sections_render(section: str, lang: str) -> None:
    at = open_page("tokenization", lang, section=section)
    assert not at.exception, [e.value for e in at.exception]
    assert section in [b.value for b in at.button_group]


def test_page_unseen_word() -> None:
    at = open_page("tokenization", "en", section="unseen", word="newer")
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "`new` `er</w>`" in shown and "`new` `##er`" in shown


@pytest.mark.parametrize("corpus,expect", [
    ("", "warning"),
    ("   ", "warning"),
    ("😀 🎉 !!!", "warning"),
    ("ab " * 3400, "warning"),                         # 10,200 characters: cut, with a message
    ("<script>alert('x')</script> <b>low lower</b>", "info"),
    ("a b c", "warning"),                                # BPE can merge x+</w>, WordPiece has no pair
])
def test_page_bad_corpus(corpus: str, expect: str) -> None:
    for section in ("bpe", "wordpiece", "unseen"):
        at = open_page("tokenization", "en", section=section, corpus=corpus)
        assert not at.exception, [e.value for e in at.exception]
        if section == "wordpiece" or corpus != "a b c":
            assert len(getattr(at, expect)) >= 1
        # user text is never rendered as HTML: no raw tag appears in any markdown element
        assert all("<script>" not in m.value for m in at.markdown)


def test_page_edit_corpus_and_step() -> None:
    at = open_page("tokenization", "en", section="bpe")
    at.text_area(key="tokenization:corpus").set_value("hug hug hug pug pun bun").run()
    assert not at.exception
    at.slider(key="tokenization:step").set_value(1).run()
    assert not at.exception
    assert at.query_params["corpus"] == "hug hug hug pug pun bun"
    merges = at.dataframe[0].value
    assert list(merges.iloc[:, 2]) == ["ug"]          # u+g occurs 4 times: the first BPE merge


def test_bpe_fallback_needs_every_character_in_the_corpus() -> None:
    """demo_tok.wp_unk: BPE falls back to characters only if each one is in its base vocabulary;
    a character the corpus never had is unknown to it too (only byte-level BPE always falls back)."""
    counts = tk.parse_corpus("low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3).counts
    base, steps = tk.learn_bpe(counts, 6)
    wp_vocab = set(tk.learn_wordpiece(counts, 6)[1][-1].vocab)
    bpe_vocab = set(steps[-1].vocab)
    # "d" starts no word here (WordPiece has only "##d"): WordPiece gives [UNK], BPE covers it
    assert tk.wordpiece_encode("dew", wp_vocab) == [tk.UNK]
    pieces = tk.bpe_encode("dew", [s.pair for s in steps])[0]
    assert set(pieces) <= bpe_vocab
    # "z" never occurs: both fail; the BPE pieces contain a symbol outside its vocabulary
    assert "z" not in base and tk.wordpiece_encode("zo", wp_vocab) == [tk.UNK]
    assert not set(tk.bpe_encode("zo", [s.pair for s in steps])[0]) <= bpe_vocab
    # byte-level BPE: every string is a sequence of the 256 base bytes
    assert set("zo🙂".encode()) <= set(range(256))


def test_wordpiece_score_favours_pairs_of_rare_parts() -> None:
    """demo_tok.exp_wordpiece: count(ab)/(count(a)·count(b)) ranks a rare, always-together pair
    above a frequent pair of frequent symbols."""
    counts = tk.parse_corpus("es " * 20 + "eses " * 5 + "qz").counts
    _, steps = tk.learn_wordpiece(counts, 1)
    table = {(a, b): (c, sc) for a, b, c, sc in steps[0].table}
    assert table[("q", "##z")][0] == 1 and table[("e", "##s")][0] > 1
    assert table[("q", "##z")][1] > table[("e", "##s")][1]
    assert steps[0].pair == ("q", "##z")
    assert tk.learn_bpe(counts, 1)[1][0].pair != ("q", "z")
