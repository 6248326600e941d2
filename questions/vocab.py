"""The bank's fixed vocabulary: its topics and the live demos a card can link to.

No imports: the home page lists the demos and names topics without loading the bank's schema
(pydantic) or the bank itself (cold start: bench/cold_start.py). questions.schema validates
cards against these.
"""
from __future__ import annotations

# Fixed list of topics: id -> (zh, en). Order is the display order.
TOPICS: dict[str, tuple[str, str]] = {
    "architecture": ("整体架构", "Architecture"),
    "attention": ("注意力机制", "Attention"),
    "positional_encoding": ("位置编码", "Positional encoding"),
    "masking": ("掩码", "Masking"),
    "normalization_residual": ("归一化与残差", "Normalization & residuals"),
    "ffn_activation": ("前馈网络与激活", "FFN & activations"),
    "training": ("训练技巧", "Training"),
    "decoding": ("解码与生成", "Decoding & generation"),
    "efficiency": ("效率与长序列", "Efficiency & long context"),
    "tokenization": ("分词", "Tokenization"),
    "variants": ("模型家族", "Model family"),
    "rnn_background": ("RNN 与背景", "RNN & background"),
}

# Stable ids of the live demos (each is also the URL path of its page).
DEMOS: dict[str, tuple[str, str]] = {
    "positional_encoding": ("位置编码", "Positional encoding"),
    "attention": ("注意力", "Attention"),
    "masks": ("掩码", "Masks"),
    "norms": ("BatchNorm 与 LayerNorm", "BatchNorm vs LayerNorm"),
    "residuals": ("残差与梯度", "Residuals & gradients"),
    "ffn_cost": ("前馈网络与计算量", "FFN & cost"),
    "training_details": ("训练细节", "Training details"),
    "tokenization": ("分词", "Tokenization"),
    "shapes": ("张量形状追踪", "Shape tracer"),
    "train_lab": ("训练实验室", "Training lab"),
    "generation": ("逐步生成", "Step-by-step generation"),
    # Decoder-only (LLM-era) mechanics, on our own decoder-only model.
    "kv_cache": ("KV 缓存", "KV cache"),
    "rope": ("旋转位置编码 RoPE", "RoPE"),
    "gqa": ("MHA / GQA / MQA", "MHA / GQA / MQA"),
    "sampling": ("采样：温度、top-k、top-p", "Sampling: temperature, top-k, top-p"),
    "bug_hunt": ("找 Bug", "Bug hunt"),
    # Hand-written code (手撕), graded against our model.
    "drills": ("手撕代码", "Coding drills"),
}


def topic_label(topic: str, lang: str) -> str:
    """A topic's name in the page language (its id when unknown)."""
    zh, en = TOPICS.get(topic, (topic, topic))
    return zh if lang == "zh" else en
