"""Classify: the 343 clusters with evidence, and relevance.  In: title and text; out: a Classification."""

from core.lazy import exports

_NAMES = {
    "Classification": "clusters",
    "classify": "clusters",
    "CLUSTER_IDS": "lexicon",
    "Lexicon": "lexicon",
    "LexiconError": "lexicon",
    "clear_segmentation_cache": "lexicon",
    "fold_case": "lexicon",
    "load_lexicon": "lexicon",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
