"""Persistence: SQLAlchemy Core tables, the engine (SQLite WAL / PostgreSQL), dialect-specific SQL, migrations."""

from crowdloop.store.engine import Store, open_existing_store, open_store

__all__ = ["Store", "open_existing_store", "open_store"]
