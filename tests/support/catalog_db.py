"""Catalog database URLs for tests: a SQLite file by default, a fresh PostgreSQL database on request.

``HAIER_TEST_DB=postgresql`` switches every catalog test to PostgreSQL: one server per
test session (started on first use, stopped when pytest exits), one new database per test.
``HAIER_TEST_PG_URL`` (``postgresql+psycopg://user@host:port/``) uses an existing server instead.

:func:`migrated_catalog_url_for_tests` gives one already at the schema's head (on PostgreSQL, a copy of a
template migrated once per session): for every test that needs the schema but is not about migrating it.

A session fixture in ``conftest.py`` can wrap :func:`catalog_url_for_tests`::

    @pytest.fixture
    def catalog_url(tmp_path, request):
        return catalog_url_for_tests(tmp_path, request)
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .postgres import create_database, start_postgres

_server_lock = threading.Lock()
_server: tuple[ExitStack, str] | None = None
_names = itertools.count(1)
_template_lock = threading.Lock()
_template: str | None = None


def wants_postgres() -> bool:
    return os.environ.get("HAIER_TEST_DB", "sqlite").strip().lower() in ("postgresql", "postgres", "pg")


def postgres_base_url(request: Any | None = None) -> str:
    """The session's PostgreSQL server, started on first call and stopped at the end of the session."""
    global _server
    configured = os.environ.get("HAIER_TEST_PG_URL", "").strip()
    if configured:
        return configured
    with _server_lock:
        if _server is None:
            stack = ExitStack()
            base = stack.enter_context(start_postgres())
            _server = (stack, base)
            if request is not None:
                request.config.add_cleanup(stop_postgres)
            atexit.register(stop_postgres)
        return _server[1]


def stop_postgres() -> None:
    """Stop the session's server if one was started (idempotent)."""
    global _server, _template
    with _server_lock:
        server, _server = _server, None
    with _template_lock:
        _template = None
    if server is not None:
        server[0].close()


def catalog_url_for_tests(tmp_path: Path, request: Any | None = None) -> str:
    """A URL for an empty catalog database private to this test (SQLite, or PostgreSQL on request)."""
    if not wants_postgres():
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    node = getattr(getattr(request, "node", None), "name", "test")
    slug = re.sub(r"[^a-z0-9]+", "_", node.lower()).strip("_")[:40]
    return create_database(postgres_base_url(request), f"t{next(_names)}_{os.getpid()}_{slug}")


def migrated_catalog_url_for_tests(tmp_path: Path, request: Any | None = None) -> str:
    """Like :func:`catalog_url_for_tests`, but the database is already at the schema's head.

    On PostgreSQL it is a copy of a template migrated once per session (``CREATE DATABASE … TEMPLATE``
    copies files; running the migrations costs about two seconds a database). SQLite migrates an empty file
    about as fast as it copies one, so there it is simply migrated. For tests that need the schema but do
    not test migrating it; tests of the migrations take :func:`catalog_url_for_tests`.
    """
    from haier_pipeline.catalog.engine import prepare_database

    if not wants_postgres():
        url = catalog_url_for_tests(tmp_path, request)
        prepare_database(url)
        return url
    base = postgres_base_url(request)
    node = getattr(getattr(request, "node", None), "name", "test")
    slug = re.sub(r"[^a-z0-9]+", "_", node.lower()).strip("_")[:40]
    return create_database(base, f"t{next(_names)}_{os.getpid()}_{slug}", template=_migrated_template(base))


def _migrated_template(base: str) -> str:
    """The session's template database at the schema's head, migrated on first use."""
    from haier_pipeline.catalog.engine import prepare_database, release_database

    global _template
    with _template_lock:
        if _template is None:
            name = f"template_{os.getpid()}"
            url = create_database(base, name)
            prepare_database(url)
            release_database(url)  # a template must have no open connections when it is copied
            _template = name
        return _template
