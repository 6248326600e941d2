"""The bank search (questions.search.search): paraphrases, typos, abbreviations, full-width text,
synonyms, speed, the CLI, and "any string gives a list"."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questions.bank import load_bank
from questions.search import (
    Index,
    Synonyms,
    analyze,
    load_index,
    normalize,
    parse_stoplist,
    search,
    stoplist,
    synonyms,
    terms,
)

ROOT = Path(__file__).resolve().parents[1]

# Paraphrases written for this test (not copied from the cards): query -> expected card id.
# Mixed Chinese/English, typos, abbreviations, full-width characters.
PARAPHRASES: list[tuple[str, str]] = [
    ("为啥 attention 分数要除以 sqrt(dk)", "why-scale-by-sqrt-dk"),
    ("ｗｈｙ ｄｉｖｉｄｅ ｂｙ ｒｏｏｔ ｄｋ", "why-scale-by-sqrt-dk"),
    ("transformer 里为什么选 LN 不选 BN", "why-layernorm-not-batchnorm"),
    ("mutli-head attenion, why not just one head", "why-multi-head"),
    ("多头注意力 为何不用单头", "why-multi-head"),
    ("位置编码为什么用正弦余弦", "why-sin-cos-pe"),
    ("PE 是干嘛的，为什么非要不可", "why-positional-encoding"),
    ("rotary embedding 的原理", "rope"),
    ("训练时 decoder 能不能并行", "transformer-parallelism"),
    ("编码器的输出怎么传给解码器 cross attn", "encoder-decoder-interaction"),
    ("what are pad tokens and why hide them from attention", "why-mask-padding"),
    ("解码器为什么要加上三角掩码，防止看到未来的词", "why-causal-mask"),
    ("BERT 为什么在输入里替换成 [MASK] 而不是在注意力里遮挡", "bert-mask-vs-attention-mask"),
    ("学习率 warm up 为啥需要", "why-lr-warmup"),
    ("label smothing 有什么用", "label-smoothing"),
    ("how do I avoid overfiting my transformer", "prevent-overfitting"),
    ("KV cach 为什么不存 Q", "kv-cache"),
    ("flash attn 是不是近似算法", "flash-attention"),
    ("why is self attention quadratic in sequence length", "attention-quadratic-cost"),
    ("beam search 和 greedy 比较", "greedy-vs-beam-search"),
    ("nucleus sampling top p", "top-k-top-p-sampling"),
    ("采样温度调高会怎样", "sampling-temperature"),
    ("训练喂真实标签、推理用自己的输出，分布不一致怎么办", "teacher-forcing-exposure-bias"),
    ("BPE 跟 word piece 有啥区别", "wordpiece-vs-bpe"),
    ("词表大小怎么选", "vocabulary-size-tradeoff"),
    ("embedding 为什么乘 根号 d_model", "embedding-scale-sqrt-dmodel"),
    ("pre norm 和 post norm 哪个好", "pre-ln-vs-post-ln"),
    ("RMS norm vs layer norm", "rmsnorm"),
    ("残差为什么能缓解梯度消失 推导", "residual-gradient-flow"),
    ("LSTM 的三个门分别干什么", "lstm-gates"),
    ("vanilla RNN 梯度为什么会消失", "rnn-vanishing-gradient"),
    ("why are today's LLMs decoder only", "why-llms-decoder-only"),
    ("ViT 怎么把图片喂给 transformer", "vision-transformer"),
    ("混合专家 MoE 的好处和难点", "mixture-of-experts"),
    ("Q 和 K 为什么不共用一个投影矩阵", "why-different-wq-wk"),
    ("QKV 分别代表什么意思", "what-are-qkv"),
    ("一整行都被 mask 掉 softmax 出 NaN 怎么办", "fully-masked-rows-nan"),
    ("do the 6 encoder layers share weights", "stacked-layers-no-sharing"),
    ("估算模型有多少参数", "transformer-parameter-count"),
    ("卷积和自注意力能看到的范围 感受野对比", "transformer-vs-cnn-receptive-field"),
    ("加性注意力和点积注意力对比", "dot-vs-additive-attention"),
    ("grad clipping by global norm", "gradient-clipping"),
    ("fp16 bf16 混合精度", "mixed-precision-training"),
    ("int8 int4 量化", "quantization"),
    ("ＬａｙｅｒＮｏｒｍ 放在哪里", "layernorm-position"),
    ("batchnorm and layernorm normalise over which dimensions", "bn-vs-ln-axes"),
]


@pytest.fixture(scope="module")
def bank():
    return load_bank(ROOT / "questions")


def test_paraphrase_hit_rate(bank) -> None:
    cases = [(q, cid) for q, cid in PARAPHRASES if cid in bank.by_id]
    assert len(cases) >= 30, f"only {len(cases)} paraphrase targets exist in the bank"
    misses = []
    for q, cid in cases:
        got = [h.id for h in search(bank, q, top=3)]
        if cid not in got:
            misses.append(f"{q!r}: expected {cid}, got {got}")
    rate = 1 - len(misses) / len(cases)
    print(f"\nparaphrase top-3 hit rate: {rate:.1%} ({len(cases) - len(misses)}/{len(cases)})")
    for m in misses:
        print("  miss:", m)
    assert rate >= 0.9, "\n".join(misses)


def test_exact_question_is_first(bank) -> None:
    """Each card's own question (both languages) finds the card first."""
    wrong = []
    for card in bank.cards:
        for lang in ("zh", "en"):
            hits = search(bank, card.question.get(lang), top=1)
            if not hits or hits[0].id != card.id:
                wrong.append((card.id, lang, hits[0].id if hits else None))
    assert len(wrong) <= max(1, len(bank.cards) // 50), wrong


def test_synonyms_bridge_languages_and_abbreviations() -> None:
    syn = synonyms()
    assert len(syn.groups) >= 40
    same = [("LN", "层归一化", "layer normalization", "LayerNorm"),
            ("BN", "批归一化", "BatchNorm"),
            ("MHA", "多头注意力", "multi-head attention"),
            ("PE", "位置编码", "positional encoding"),
            ("FFN", "前馈网络", "feed-forward"),
            ("残差", "residual"), ("掩码", "mask"), ("解码器", "decoder"), ("编码器", "encoder"),
            ("缩放", "scaling")]
    for group in same:
        concepts = [set(syn.concepts(normalize(p))) for p in group]
        assert concepts[0] and all(concepts[0] <= c for c in concepts), (group, concepts)
    # a short abbreviation only counts as a whole word
    assert syn.concepts(normalize("learning")) == [] or "§0" not in syn.concepts(normalize("learning"))
    assert set(syn.concepts(normalize("LN"))) != set(syn.concepts(normalize("learn")))


def test_text_analysis() -> None:
    assert normalize("ＬａｙｅｒＮｏｒｍ") == "layernorm"
    assert normalize(r"$\sqrt{d_k}$").split() == ["$", "sqrt", "{dk}$"] or "dk" in normalize(r"\sqrt{d_k}")
    assert terms("层归一化") == ["层", "归一化"]                 # jieba words, not character pairs
    assert terms("为什么除以根号dk") == ["什么", "为什么", "除以", "根号", "dk"]  # search mode: sub-words too
    assert terms("masks layers normalization") == ["mask", "layer", "normal"]  # Snowball stems
    assert normalize("normalisation") == "normalization"
    assert "dk" in terms(normalize(r"除以 $\sqrt{d_k}$"))


def test_filler_is_removed_and_generic_asks_weigh_little() -> None:
    stop = stoplist()
    assert stop.cut(normalize("面试官：能不能简单介绍一下 Multi-Query Attention")).split() == \
        [":", "multi-query", "attention"]
    assert stop.cut("can you explain layer norm").split() == ["layer", "norm"]
    assert stop.cut("canyon") == "canyon"                    # English phrases only as whole words
    assert analyze("聊聊你对旋转位置编码的看法") == analyze("旋转位置编码")   # the topic stays, filler goes
    assert "作用" in stop.light and "缺点" in stop.light and "why" in stop.light
    idx = Index([])
    q = idx.expand(normalize("KV缓存有什么缺点"))
    assert q["缺点"] == stop.light_weight < 1 and q["缓存"] == 1.0
    assert idx.expand(normalize("介绍一下")), "a query made only of filler keeps its words"
    syn = synonyms()
    drawback = set(syn.concepts(normalize("缺点")))
    assert drawback == set(syn.concepts(normalize("downsides")))        # the generic ask bridges languages
    q = idx.expand(normalize("downsides of RNN"))
    assert all(q[c] == stop.light_weight for c in drawback) and max(q.values()) == 1.0  # ...but weighs light


def test_stoplist_file_format() -> None:
    st = parse_stoplist("# c\n[remove]\n讲讲\nTell me about\n[light]\nPurposes\n[stop]\nthe\n")
    assert st.remove == ("tell me about", "讲讲") and st.light == {"purpos"} and st.stop == {"the"}
    with pytest.raises(ValueError):
        parse_stoplist("[nope]\nx\n")
    with pytest.raises(ValueError):
        parse_stoplist("x\n")


def test_field_spellings_meet(bank) -> None:
    """Long forms, spaces inside names and Chinese names reach the same card."""
    for q in ("Multi-Query Attention", "multi query attention", "MQA", "多查询注意力"):
        assert "mha-mqa-gqa" in [h.id for h in search(bank, q, top=3)], q
    syn = synonyms()
    for group in [("kv cache", "KV缓存", "key-value cache", "键值缓存"), ("rope", "旋转位置编码", "rotary embedding"),
                  ("layer norm", "LayerNorm", "层归一化", "layer-norm"), ("pre-LN", "pre norm", "prenorm")]:
        concepts = [set(syn.concepts(normalize(p))) for p in group]
        assert set.intersection(*concepts), group


def test_disk_cache_round_trip(bank, tmp_path, monkeypatch) -> None:
    """The index survives JSON (plain data, no pickle) unchanged; the CLI path reads it without the bank."""
    monkeypatch.setenv("TIL_CACHE_DIR", str(tmp_path))
    built = Index(bank.cards)
    again = Index.from_data(json.loads(json.dumps(built.to_data())))
    for q in ("为什么除以根号dk", "layer norm 怎么算", "mutli query atention", "BN 缺点"):
        assert [(h.id, round(h.score, 3)) for h in search(built, q)] == \
            [(h.id, round(h.score, 3)) for h in search(again, q)], q
    first = load_index(ROOT / "questions")                   # builds and writes the cache
    assert list(tmp_path.glob("search-f-*.json")) and list(tmp_path.glob("search-c-*.json"))
    second = load_index(ROOT / "questions")                  # reads it
    assert second.ids == first.ids == [c.id for c in bank.cards]
    hits = search(second, "为什么除以根号dk", top=1)
    assert hits[0].id == "why-scale-by-sqrt-dk" and hits[0].card is None
    assert search(bank, "为什么除以根号dk", top=1)[0].card is bank.by_id["why-scale-by-sqrt-dk"]
    with pytest.raises(ValueError):
        Index.from_data({**built.to_data(), "version": -1})
    (tmp_path / "junk.json").write_text("{not json")
    assert load_index(tmp_path / "nowhere").ids == []


def test_cli_does_not_parse_the_bank_when_cached(tmp_path) -> None:
    env = {**os.environ, "TIL_CACHE_DIR": str(tmp_path)}
    code = ("import sys, runpy; sys.argv = ['questions', 'search', '为什么除以根号dk', '--json'];\n"
            "try:\n    runpy.run_module('questions', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pydantic', 'yaml', 'bm25s', 'questions.bank', 'torch', 'streamlit')"
            " if m in sys.modules), file=sys.stderr)")
    cold = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    warm = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(cold.stdout)[0]["id"] == json.loads(warm.stdout)[0]["id"] == "why-scale-by-sqrt-dk"
    assert "bm25s" in cold.stderr                                  # first run builds the index
    assert warm.stderr.strip().splitlines()[-1] == "[]", warm.stderr  # then nothing heavy is imported


def test_small_bank_ranking() -> None:
    """On a hand-built bank: the synonym, the typo and the field weights decide the order."""
    from questions.schema import Card

    def card(cid: str, q_en: str, q_zh: str, answer: str) -> Card:
        return Card.model_validate({
            "id": cid, "topic": "attention", "difficulty": 1, "source": "supplement",
            "question": {"zh": q_zh, "en": q_en}, "answer": {"zh": answer, "en": answer},
            "keywords": {"zh": [["x"]], "en": [["x"]]}})

    class B:  # the minimal bank interface search() needs
        cards = [card("ln", "Why LayerNorm?", "为什么用层归一化？", "normalises each token"),
                 card("bn", "What is batch normalization?", "什么是批归一化？", "normalises over the batch"),
                 card("other", "What is dropout?", "什么是 dropout？", "LayerNorm is mentioned only here")]
        _index = None

    b = B()
    assert search(b, "LN")[0].id == "ln"                  # abbreviation -> LayerNorm / 层归一化
    assert search(b, "层归一化")[0].id == "ln"
    assert search(b, "normalizaton over the bacth")[0].id == "bn"  # typos
    assert search(b, "ＢＮ")[0].id == "bn"                 # full-width abbreviation
    assert search(b, "layer norm")[0].id == "ln"  # the question field outweighs the answer ("other")
    assert isinstance(b._index, Index)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_string_gives_a_list(bank, text: str) -> None:  # noqa: F811
    hits = search(bank, text, top=5)
    assert isinstance(hits, list) and len(hits) <= 5
    assert all(h.id in bank.by_id for h in hits)


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "<script>alert(1)</script>", "😀🤖🔥" * 100,
                                  "\x00\u200b\ufeff", "$$\\frac{", "🤖 attention"])
def test_bad_input(bank, text: str) -> None:
    hits = search(bank, text, top=3)
    assert isinstance(hits, list)
    assert all(isinstance(h.as_dict()["score"], float) for h in hits)


def test_speed(bank) -> None:
    queries = [q for q, _ in PARAPHRASES]
    search(bank, "warm up")  # the index is built once
    t0 = time.perf_counter()
    for q in queries:
        search(bank, q, top=10)
    per_query_ms = (time.perf_counter() - t0) * 1000 / len(queries)
    assert per_query_ms < 20, per_query_ms


def test_index_build_is_reasonable(bank) -> None:
    t0 = time.perf_counter()
    Index(bank.cards, Synonyms([["a", "b"]]))
    assert time.perf_counter() - t0 < 3.0


def test_cli_search_json() -> None:
    res = subprocess.run([sys.executable, "-m", "questions", "search", "为啥要除以根号dk", "--top", "3", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert isinstance(data, list) and 1 <= len(data) <= 3
    assert set(data[0]) == {"id", "score", "question"}
    assert data[0]["id"] == "why-scale-by-sqrt-dk"
    assert data[0]["score"] >= data[-1]["score"]
    assert "dk" in data[0]["question"] or "根号" in data[0]["question"] or "d_k" in data[0]["question"]


def test_analyze_has_concepts() -> None:
    assert any(t.startswith("§") for t in analyze("LN"))
