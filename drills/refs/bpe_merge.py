def bpe_merge(word_freqs):
    """word_freqs {tuple of symbols: count} -> (best pair or None, new {tuple of symbols: count})."""
    pairs = {}
    for word, freq in word_freqs.items():
        for a, b in zip(word, word[1:], strict=False):
            pairs[(a, b)] = pairs.get((a, b), 0) + freq
    if not pairs:
        return None, dict(word_freqs)
    best = max(pairs, key=pairs.get)              # the first maximum: ties go to the pair seen first
    merged = {}
    for word, freq in word_freqs.items():
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        merged[tuple(out)] = merged.get(tuple(out), 0) + freq
    return best, merged
