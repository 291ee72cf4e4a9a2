"""Storage: the engine and sessions, the tables, job locks and the Alembic migrations."""
