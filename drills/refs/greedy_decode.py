def greedy_decode(next_logits, bos_id, eos_id, max_len):
    """next_logits(list[int]) -> float (V,). Returns the generated ids: no BOS, EOS included if produced,
    at most max_len tokens."""
    ids = [bos_id]
    for _ in range(max_len):
        nxt = int(next_logits(ids).argmax())
        ids.append(nxt)
        if nxt == eos_id:
            break
    return ids[1:]
