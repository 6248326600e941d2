from ui import shell

shell.page("tokenization")
import streamlit as st

from demos import tokenization as D
from figures import tokenization as F
from questions.schema import DEMO_SECTIONS
from ui import compute, plot, state
from ui.demo_footer import demo_footer

DEMO = "tokenization"
CORPUS_WIDGET_MAX = 12000       # what the box accepts; the demo itself uses D.MAX_CHARS


def T(key: str, **fmt) -> str:
    return shell.t(f"demo_tok.{key}", **fmt)


def show_pair(pair: tuple[str, str]) -> str:
    return f"{pair[0]} + {pair[1]}"


def chips(symbols: list[str]) -> str:
    """Symbols as inline code (never HTML): backticks inside a symbol can't occur (letters/digits only)."""
    return " ".join(f"`{s}`" for s in symbols)


st.markdown(T("intro"))
section = state.section(DEMO_SECTIONS[DEMO], T("sections"), format_func=lambda s: T(f"sec_{s}"))
text = state.text_area("corpus", T("corpus"), D.DEFAULT_CORPUS, max_chars=CORPUS_WIDGET_MAX, height=100,
                       help=T("corpus_help", n=D.MAX_CHARS))
corpus, bpe_base, bpe, wp_base, wp = compute.call(D.learn, text, keep=32)
if corpus.truncated:
    st.warning(T("truncated", n=D.MAX_CHARS), icon=":material/content_cut:")
if corpus.dropped_chars:
    st.info(T("dropped", n=corpus.dropped_chars), icon=":material/info:")
if corpus.capped_words:
    st.warning(T("capped", n=D.MAX_WORDS))

if not corpus.counts:
    st.warning(T("empty"), icon=":material/warning:")
elif not bpe:
    st.warning(T("no_merges"), icon=":material/warning:")
else:
    st.caption(T("words_summary", words=len(corpus.counts), total=sum(corpus.counts.values()), base=len(bpe_base)))

    if section == "bpe":
        st.markdown(T("exp_bpe"))
        s = state.slider("step", T("step"), 1, len(bpe), min(3, len(bpe))) if len(bpe) > 1 else 1
        s = min(s, len(bpe))
        cur = bpe[s - 1]
        labels, counts, _, _, chosen = D.pair_view(cur)
        left, right = st.columns([3, 2])
        with left:
            plot.show(plot.call(F.pair_bars, labels, counts, chosen, title=T("pairs_title", s=s),
                                x_title=T("count")), "bpe_pairs")
        with right:
            st.markdown(f"**{T('merges_so_far')}**")
            st.dataframe({T("col_step"): list(range(1, s + 1)), T("col_pair"): [show_pair(x.pair) for x in bpe[:s]],
                          T("col_new"): [x.new for x in bpe[:s]], T("col_count"): [x.count for x in bpe[:s]]},
                         hide_index=True)  # height "auto": a computed 38 + 35 * rows clipped the last row
        st.markdown(f"**{T('vocab_after', s=s, n=len(cur.vocab))}**")
        st.markdown(chips(cur.vocab))
        st.markdown(f"**{T('splits_after')}**")
        words = list(cur.splits)[:60]
        st.dataframe({T("col_word"): words, T("col_freq"): [corpus.counts[w] for w in words],
                      T("col_split"): [" ".join(cur.splits[w]) for w in words]}, hide_index=True)

    elif section == "wordpiece" and not wp:
        st.markdown(T("exp_wordpiece"))
        st.warning(T("no_merges"), icon=":material/warning:")

    elif section == "wordpiece":
        st.markdown(T("exp_wordpiece"))
        s = state.slider("step", T("step"), 1, len(wp), 1) if len(wp) > 1 else 1
        s = min(s, len(wp))
        cur = wp[s - 1]
        labels, counts, scores, bpe_i, wp_i = D.pair_view(cur)
        plot.show(plot.call(F.count_vs_score, labels, counts, scores, bpe_i, wp_i, title=T("scatter_title", s=s),
                            x_title=T("count"), y_title=T("wp_score"), bpe_label=T("bpe_pick"),
                            wp_label=T("wp_pick"), other_label=T("other_pairs")), "wp_scatter")
        st.caption(T("scatter_caption", s=s))
        order = D.top_scores(scores, 15)
        st.dataframe({T("col_pair"): [labels[i] for i in order], T("col_count"): [counts[i] for i in order],
                      T("col_score"): [f"{scores[i]:.4f}" for i in order]}, hide_index=True)
        st.markdown(f"**{T('side_by_side')}**")
        bn, wn, same = D.side_by_side(bpe, wp)
        diff = D.first_difference(bpe, wp)
        if diff is None:
            st.info(T("no_diff"))
        else:
            st.info(T("first_diff", s=diff + 1, b=show_pair(bpe[diff].pair), w=show_pair(wp[diff].pair)))
        st.dataframe({T("col_step"): list(range(1, len(bn) + 1)), T("col_bpe"): bn, T("col_wp"): wn,
                      T("col_same"): ["✓" if x else "✗" for x in same]},
                     hide_index=True)

    elif section == "unseen":
        st.markdown(T("exp_unseen"))
        c1, c2 = st.columns(2)
        with c1:
            raw = state.text("word", T("word"), "newer", max_chars=40)
        with c2:
            k = state.slider("merges", T("n_merges"), 0, len(bpe), len(bpe))
        word = D.clean_word(raw)
        if not word:
            st.warning(T("no_word"), icon=":material/warning:")
        else:
            if word != raw.strip():
                st.caption(T("word_used", w=word))
            k = min(k, len(bpe))
            pieces, history = D.bpe_encode(word, [x.pair for x in bpe[:k]])
            vocab = D.vocab_after(wp, wp_base, k)
            wp_pieces = D.wordpiece_encode(word, vocab)
            left, right = st.columns(2)
            with left:
                st.markdown(f"**{T('bpe_result')}**")
                st.markdown(chips(pieces))
                st.markdown(f"**{T('bpe_replay')}**")
                st.dataframe({"#": list(range(len(history))), T("col_split"): [" ".join(h) for h in history]},
                             hide_index=True)
            with right:
                st.markdown(f"**{T('wp_result')}**")
                st.markdown(chips(wp_pieces))
                if wp_pieces == [D.UNK]:
                    st.info(T("wp_unk"))
                st.markdown(f"**{T('wp_vocab', n=len(vocab))}**")
                st.markdown(chips(vocab))

demo_footer(DEMO)
