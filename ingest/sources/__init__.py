"""Where article URLs come from: one adapter per CMS family, each site a few lines of config/sources.toml."""

from ingest.sources.base import ArticleRef, list_articles
from ingest.sources.config import KINDS, SourceConfig, load_sources
from ingest.sources.sniff import Sniffed, sniff_family

__all__ = ["KINDS", "ArticleRef", "Sniffed", "SourceConfig", "list_articles", "load_sources", "sniff_family"]
