"""Sources: where article URLs come from, one adapter per CMS family.  In: a source's config; out: ArticleRefs."""

from core.lazy import exports

_NAMES = {
    "ArticleRef": "base",
    "list_articles": "base",
    "Listing": "base",
    "read_listing": "base",
    "KINDS": "config",
    "SourceConfig": "config",
    "load_sources": "config",
    "Sniffed": "sniff",
    "sniff_family": "sniff",
    "issue_url": "epaper",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
