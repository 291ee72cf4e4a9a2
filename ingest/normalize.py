"""The normalized form of text used for matching, fingerprints and classification.

Display text keeps the author's characters; everything that compares texts works on this form so that a
traditional-character mirror, a full-width copy or a spam repost with injected links lands on the same key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from store import use_normalizer

# A pinyin gloss that mirrors put after a word, e.g. 發(fā)展 or 经济（jīng jì）.  Latin letters only, with
# tone marks or digits, so that real parentheticals such as （2023） or （记者 张涛） are kept.
_PINYIN = "a-zA-ZāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüĀÁǍÀĒÉĚÈĪÍǏÌŌÓǑÒŪÚǓÙǕǗǙǛÜ"
_GLOSS_RE = re.compile(rf"[(（]\s*[{_PINYIN}][{_PINYIN}1-5' ]{{0,40}}[)）]")
_URL_RE = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]+", re.IGNORECASE)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])[ \t\u00a0\u3000]+(?=[{_CJK}])")
_WS_RE = re.compile(r"[ \t\u00a0\u3000]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def remove_cjk_spaces(text: str) -> str:
    """Drop spaces between CJK characters (OCR and hard-wrap artefacts); keep them between Latin words."""
    return _CJK_SPACE_RE.sub("", text)


def normalize_text(text: str) -> str:
    """NFKC, traditional → simplified, pinyin glosses and URLs removed, no spaces between CJK characters.

    Punctuation and line breaks are kept, so sentences and paragraphs can still be told apart.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _URL_RE.sub("", text)
    text = to_simplified(text)
    text = _GLOSS_RE.sub("", text)
    text = remove_cjk_spaces(text)
    return _WS_RE.sub(" ", text).strip()


def matching_key(text: str) -> str:
    """normalize_text() with every character that is not a letter or a digit dropped, lower-cased."""
    return "".join(ch for ch in normalize_text(text).lower() if ch.isalnum())


use_normalizer(normalize_text)  # the search index (store.search) normalizes like everything else
