"""Dedupe: an article against the seeds and all history.  In: title and paragraphs; out: a Verdict and a story."""

from core.lazy import exports

_NAMES = {
    "DedupeIndex": "verdict",
    "Verdict": "verdict",
    "index_seed_articles": "verdict",
    "rebuild_index": "verdict",
    "Fingerprint": "fingerprint",
    "fingerprint": "fingerprint",
    "sites_of": "stories",
    "story_members": "stories",
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
