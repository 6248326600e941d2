"""Our from-scratch encoder-decoder Transformer and tiny vocabularies (see model/transformer.py)."""
from .transformer import (
    AttnTrace,
    Decoder,
    DecoderLayer,
    DecoderLayerTrace,
    Encoder,
    EncoderLayer,
    EncoderLayerTrace,
    MultiHeadAttention,
    PositionwiseFeedForward,
    SublayerTrace,
    Trace,
    Transformer,
    TransformerConfig,
    make_causal_mask,
    make_pad_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from .vocab import BOS, EOS, PAD, SPECIALS, UNK, HashVocab, Vocab, tokenize

__all__ = [
    "TransformerConfig", "Transformer", "Encoder", "Decoder", "EncoderLayer", "DecoderLayer",
    "MultiHeadAttention", "PositionwiseFeedForward", "scaled_dot_product_attention",
    "sinusoidal_positional_encoding", "make_pad_mask", "make_causal_mask",
    "AttnTrace", "SublayerTrace", "EncoderLayerTrace", "DecoderLayerTrace", "Trace",
    "Vocab", "HashVocab", "tokenize", "SPECIALS", "PAD", "BOS", "EOS", "UNK",
]
