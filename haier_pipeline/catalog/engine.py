"""One engine per catalog URL, migrated to the latest schema the first time it is asked for.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` transactions (the
writers read, then write: taking the write lock up front means concurrent Dagster steps
wait their turn instead of failing with "database is locked"). PostgreSQL gets a small
pre-pinged pool and UTC sessions. Alembic runs from code; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import SAWarning
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")
# A writer waits its turn behind the longest catalogue transaction rather than failing the sync: ``products``
# writes the whole listing in one (about a minute at 100,000 products on 2 cores, while image_files, stock and
# price history write beside it). 30 s was measured too short there: stock and image_files failed "locked".
SQLITE_BUSY_TIMEOUT_MS = 600_000

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_alembic_lock = threading.Lock()  # Alembic's ``context`` is process-global: one command at a time per process


def prepare_database(url: str | URL) -> Engine:
    """The engine for ``url``, with the schema upgraded to head (once per URL per process)."""
    key = make_url(url).render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_catalog_engine(key)
            try:
                upgrade_database(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[key] = engine
        return engine


def release_database(url: str | URL) -> None:
    """Close and forget the cached engine for ``url`` (the next ``prepare_database`` starts afresh)."""
    key = make_url(url).render_as_string(hide_password=False)
    with _lock:
        engine = _engines.pop(key, None)
    if engine is not None:
        engine.dispose()




def create_catalog_engine(url: str | URL) -> Engine:
    """An engine configured for the catalog's workload, without touching the schema."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return create_engine(
            parsed, pool_size=5, max_overflow=5, pool_pre_ping=True, pool_recycle=1800,
            connect_args={"options": "-c timezone=UTC"},
        )
    raise ValueError(f"HAIER_CATALOG_DB_URL: unsupported database {backend!r} (use sqlite or postgresql+psycopg)")


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {}
    if memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(url.database or "").expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _use_wal(cursor: Any) -> None:
    """Switch a database file to WAL (a persistent setting: only its first connection ever changes it).

    SQLite answers "database is locked" at once, without waiting on the busy timeout, when
    another process holds the file while the mode changes; that only happens while a new
    database is being created, so the switch is retried until the busy timeout runs out.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # back off while the other process finishes creating the file


def alembic_config(script_location: str | Path = MIGRATIONS) -> Config:
    """An Alembic config built in code, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return config


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions(script_location: str | Path = MIGRATIONS) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(script_location)).get_heads())


def upgrade_database(engine: Engine, revision: str = "heads", *, script_location: str | Path = MIGRATIONS) -> None:
    """``alembic upgrade`` on ``engine``; a database already at head costs one read."""
    if revision == "heads" and current_revisions(engine) == head_revisions(script_location):
        return
    _run(engine, script_location, lambda config: command.upgrade(config, revision))


def downgrade_database(engine: Engine, revision: str, *, script_location: str | Path = MIGRATIONS) -> None:
    """``alembic downgrade`` on ``engine`` (tests and manual repairs)."""
    _run(engine, script_location, lambda config: command.downgrade(config, revision))


def _run(engine: Engine, script_location: str | Path, action: Any) -> None:
    config = alembic_config(script_location)
    with _alembic_lock, engine.begin() as conn, warnings.catch_warnings():
        # SQLite batch migrations reflect the tables and cannot reflect the expression index on categories; the
        # migrations recreate it themselves, so the warning only alarms a person reading the first sync's output.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index", SAWarning)
        config.attributes["connection"] = conn
        action(config)
