"""Is an extracted body text in a human language, or bytes that only decoded into characters?

Random or binary bytes decode (as GB18030 above all) into something that looks like text to the extractor:
long runs of rare ideographs, private-use and replacement characters, symbols and control bytes.  Real
articles, Chinese or not, are mostly letters; their ideographs are mostly the common ones (GB2312 holds the
6,763 that make up almost all running Chinese text); they have no replacement or private-use characters to
speak of.  Each test is a share, so it holds for a short notice as for a long report.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from ingest.normalize import to_simplified

_MIN_CHARS = 40  # below this, shares say nothing: short bodies are judged elsewhere (no body / no title)
_MAX_REPLACEMENT = 0.01  # U+FFFD: bytes that did not decode
_MAX_CONTROL = 0.002  # C0/C1 controls other than tab and newline
_MAX_PRIVATE_USE = 0.01
_MIN_LETTERS = 0.5  # letters (any script) and digits among the non-space characters
_MIN_COMMON_HAN = 0.6  # of the ideographs, the share in GB2312 (random GBK pairs give about 0.3)
_MIN_HAN_FOR_COMMON = 50
_MAX_ONE_CHAR = 0.3  # the commonest character's share: 的 is about 4% of Chinese text, e about 12% of English


def not_text_reason(text: str) -> str | None:
    """Why `text` is not text in a human language, or None when it is."""
    chars = [ch for ch in text if not ch.isspace()]
    total = len(chars)
    if total < _MIN_CHARS:
        return None
    replacement = control = private = letters = han = common = 0
    for ch in chars:
        category = unicodedata.category(ch)
        if ch == "\ufffd":
            replacement += 1
        elif category == "Cc":
            control += 1
        elif category == "Co":
            private += 1
        elif category[0] == "L" or category == "Nd":
            letters += 1
            if "\u4e00" <= ch <= "\u9fff":
                han += 1
    if replacement / total > _MAX_REPLACEMENT:
        return f"not text: {replacement / total:.0%} undecodable characters"
    if control / total > _MAX_CONTROL:
        return f"not text: {control / total:.1%} control characters"
    if private / total > _MAX_PRIVATE_USE:
        return f"not text: {private / total:.0%} private-use characters"
    top, top_count = Counter(chars).most_common(1)[0]
    if top_count / total > _MAX_ONE_CHAR:
        return f"not text: {top_count / total:.0%} of it is the character {top!r}"
    if letters / total < _MIN_LETTERS:
        return f"not text: only {letters / total:.0%} letters and digits"
    if han >= _MIN_HAN_FOR_COMMON:
        # Traditional text is judged in its simplified form: GB2312 is the simplified set.
        common = sum(
            map(_is_common_han, to_simplified("".join(c for c in chars if "\u4e00" <= c <= "\u9fff")))
        )
    if han >= _MIN_HAN_FOR_COMMON and common / han < _MIN_COMMON_HAN:
        return f"not text: only {common / han:.0%} of its ideographs are common Chinese characters"
    return None


def _is_common_han(ch: str) -> bool:
    """In GB2312's two levels of hanzi (lead bytes 0xB0–0xF7)."""
    try:
        encoded = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xF7
