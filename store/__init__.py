"""Store: the engine and sessions, the tables, job locks and the Alembic migrations (store/migrations/).

In: articles, verdicts, stories, subscriptions and deliveries; out: the same, on SQLite or PostgreSQL.
"""

from core.lazy import exports

_NAMES = {
    "MIGRATIONS": "db",
    "DatabaseUnavailableError": "db",
    "database_errors": "db",
    "alembic_config": "db",
    "init_db": "db",
    "make_engine": "db",
    "session_scope": "db",
    "dedupe_session": "locks",
    "job_lock": "locks",
    "lock_key": "locks",
    "rebuild_search_index": "search",
    "search_ids": "search",
    "search_lookup": "search",
    "use_normalizer": "search",
    **{
        name: "models"
        for name in (
            "Article",
            "ChunkHash",
            "Delivery",
            "HttpCache",
            "LshBand",
            "Project",
            "ProjectReport",
            "Source",
            "Story",
            "Subscriber",
            "Subscription",
            "UTCDateTime",
            "utcnow",
        )
    },
}
__all__ = sorted(_NAMES)
__getattr__, __dir__ = exports(__name__, _NAMES)
