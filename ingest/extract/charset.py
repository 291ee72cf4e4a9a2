"""Decode page bytes into text ourselves, because declared charsets on Chinese sites are often wrong.

Order: BOM → HTTP charset → <meta charset>/http-equiv → strict UTF-8 → GB18030.  GB2312 and GBK are decoded as
GB18030 (their superset): pages that declare GB2312 routinely contain GBK-only characters such as 镕 or 堃.  A
declared charset is only trusted while it decodes cleanly into plausible text; otherwise the alternatives are tried
and the most plausible result wins.
"""

from __future__ import annotations

import codecs
import logging
import re

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that name a subset of GB18030: decoding with the superset never loses a character.
_GB_ALIASES = {
    "gb2312",
    "gbk",
    "gb_2312-80",
    "gb_2312",
    "x-gbk",
    "cp936",
    "csgb2312",
    "euc-cn",
    "chinese",
    "gb18030",
}
_BIG5_ALIASES = {"big5", "big5-hkscs", "x-x-big5", "cp950", "csbig5"}
_ALTERNATIVES = ("utf-8", "gb18030", "big5")

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-.]+)""", re.IGNORECASE)
# Characters that plausible Chinese or Western page text almost never contains: C0/C1 controls, private use,
# the replacement character, and the rarely used CJK extension A / compatibility blocks that mojibake lands in.
_IMPROBABLE_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\u3400-\u4dbf]")
_SNIFF_BYTES = 4096


def normalize_label(label: str | None) -> str | None:
    """Map a charset label to a Python codec name, widening GB2312/GBK to GB18030; None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _GB_ALIASES:
        return "gb18030"
    if name in _BIG5_ALIASES:
        return "big5hkscs"
    if name in {"utf8", "unicode-1-1-utf-8", "x-unicode20utf8"}:
        return "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # HTML5 treats a declared UTF-16 in <meta> as UTF-8 (the meta could not have been read otherwise).
    return "utf-8" if codec.startswith("utf-16") or codec.startswith("utf-32") else codec


def sniff_declared_charset(data: bytes) -> str | None:
    """The charset named by <meta charset>, <meta http-equiv> or the XML declaration in the first 4 KB."""
    head = data[:_SNIFF_BYTES]
    for regex in (_META_CHARSET_RE, _XML_DECL_RE):
        match = regex.search(head)
        if match:
            return match.group(1).decode("ascii", "ignore")
    return None


def _improbability(text: str) -> float:
    """Share of characters that real text rarely contains (0 = plausible)."""
    if not text:
        return 0.0
    bad = len(_IMPROBABLE_RE.findall(text))
    if not bad:
        return 0.0
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return bad / max(1, non_ascii)


def _has_multibyte_utf8(data: bytes) -> bool:
    return any(b >= 0xC2 for b in data)


def _try_strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _best_alternative(data: bytes, tried: str | None) -> tuple[str, str]:
    """Decode with each alternative (replacing errors) and keep the most plausible text."""
    best: tuple[float, str, str] | None = None
    for encoding in _ALTERNATIVES:
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            continue
        score = _improbability(text)
        if best is None or score < best[0]:
            best = (score, text, encoding)
    assert best is not None
    logger.info("charset %s did not decode cleanly; chose %s (improbability %.4f)", tried, best[2], best[0])
    return best[1], best[2]


def decode_html(data: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Returns (text, encoding_used).  Never raises."""
    try:
        return _decode(data, http_charset)
    except Exception:  # noqa: BLE001 - decoding must never stop a run; fall back to lossy UTF-8
        logger.exception("charset detection failed; decoding as utf-8 with replacement")
        return bytes(data).decode("utf-8", errors="replace"), "utf-8"


def _decode(data: bytes, http_charset: str | None) -> tuple[str, str]:
    data = bytes(data)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding

    declared = normalize_label(http_charset) or normalize_label(sniff_declared_charset(data))
    if declared and declared != "utf-8":
        # A page labelled GBK/Big5/Latin-1 whose bytes are valid UTF-8 with multibyte sequences is UTF-8: legacy
        # text essentially never validates as UTF-8 by accident, while mislabelled UTF-8 pages are common.
        if _has_multibyte_utf8(data):
            text = _try_strict(data, "utf-8")
            if text is not None:
                logger.info("page declares %s but is valid UTF-8; decoding as utf-8", declared)
                return text, "utf-8"
        text = _try_strict(data, declared)
        if text is not None and _improbability(text) < 0.01:
            return text, declared
        return _best_alternative(data, declared)

    text = _try_strict(data, "utf-8")
    if text is not None:
        return text, "utf-8"
    text = _try_strict(data, "gb18030")
    if text is not None and _improbability(text) < 0.01:
        if declared:
            logger.info("page declares utf-8 but decodes as gb18030")
        return text, "gb18030"
    return _best_alternative(data, declared or "utf-8")
