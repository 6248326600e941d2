"""Half-width punctuation next to Chinese text in the zh question fields.

A Chinese question ends in "？", not "?"; commas, colons, semicolons and brackets around Chinese
words are full-width too. `problems(text)` finds the half-width ones next to CJK characters
(spaces in between allowed); `fix(text)` turns them (and the partner of a bracket pair) into their
full-width forms and drops the spaces around them. Brackets with no Chinese inside are code or
maths (`model.eval()`, `lp(Y)`, a shape `(batch, seq_len, d_model)`) and stay as they are.
"""
from __future__ import annotations

import re

FULL = {"?": "？", ",": "，", ":": "：", ";": "；", "(": "（", ")": "）"}
_CJK = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef"
_HALF = re.compile(rf"(?<=[{_CJK}])\s*([?,:;()])|([?,:;()])\s*(?=[{_CJK}])")
_ASCII_GROUP = re.compile(r"\([\x00-\x7f]*?\)")


def _masked(text: str) -> str:
    """`text` with every bracket group that holds no Chinese hidden from the checks (same length)."""
    return _ASCII_GROUP.sub(lambda m: "\0" * len(m.group(0)), text)


def problems(text: str) -> list[str]:
    """The half-width punctuation characters next to CJK text, in order."""
    return [m.group(1) or m.group(2) for m in _HALF.finditer(_masked(text))]


def fix(text: str) -> str:
    masked = _masked(text)
    spots = {m.start(1) if m.group(1) else m.start(2) for m in _HALF.finditer(masked)}
    # a bracket pair changes together: "(参考上一题)" and "scaled (为什么…)" both become （…）
    stack: list[int] = []
    for i, ch in enumerate(masked):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            j = stack.pop()
            if i in spots or j in spots:
                spots |= {i, j}
    out = list(text)
    for i in spots:
        out[i] = FULL[text[i]]
    fixed = "".join(out)
    # full-width marks carry their own spacing
    return re.sub(r"\s*([？，：；（）])\s*", r"\1", fixed).strip()
