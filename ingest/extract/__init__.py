"""Extract: page bytes → articles (title, time, source, author, clean paragraphs).  In: bytes; out: Extracted."""

from core.lazy import exports

_NAMES = {
    "Extracted": "article",
    "extract_article": "article",
    "extract_articles": "article",
    "decode_html": "charset",
    "date_from_url": "pubtime",
    "split_seed_document": "split",
    "SeedArticle": "split",
    "MAX_PARTS": "split",
    "is_furniture": "boilerplate",
    "is_footer_start": "boilerplate",
    "is_tail_start": "boilerplate",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
