"""The catalog database: SQLAlchemy Core tables, Alembic migrations and set-based bulk writers.

- ``tables`` — every table (shop catalog, raw Haier payloads, sync log, later features' tables)
- ``engine.prepare_database(url)`` — the engine for a URL, migrated to head on first use
- ``raw_store`` — raw payloads in (only when changed) and streamed back out
- ``writes`` — brands, categories, products, prices, stock, images; each returns ``WriteCounts``
- ``sync_log`` — the ``haier_sync_log`` life cycle
- ``instrument.count_statements`` — statement counts, for tests and benchmarks

Works identically on SQLite (the default) and PostgreSQL (``postgresql+psycopg://…``).
"""
