"""Alembic environment for the catalog: runs on the connection handed over by ``engine.upgrade_database``.

Run from code (``prepare_database``), Alembic receives an open connection in
``config.attributes["connection"]``. Run from the command line
(``alembic -c haier_pipeline/catalog/migrations/alembic.ini …``), it connects to
``HAIER_CATALOG_DB_URL``. On PostgreSQL an advisory lock serialises concurrent upgrades;
on SQLite the engine's ``BEGIN IMMEDIATE`` does the same, and ``render_as_batch`` lets
later revisions alter tables SQLite cannot ``ALTER``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, text

from haier_pipeline.catalog.tables import metadata

MIGRATION_LOCK_KEY = 7_245_101  # arbitrary, constant: one catalog migration at a time per PostgreSQL database


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    from haier_pipeline.catalog.engine import create_catalog_engine

    url = os.environ.get("HAIER_CATALOG_DB_URL") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set HAIER_CATALOG_DB_URL to the catalog database's SQLAlchemy URL")
    engine = create_catalog_engine(url)
    try:
        with engine.begin() as conn:
            run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
