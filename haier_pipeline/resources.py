"""Dagster resources for the catalog database, the media folder and the scope of one sync run.

The Haier API resource lives beside its client in ``haier_api/resource.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr, field_validator
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from haier_pipeline.settings import COUNTY_CODE


class CatalogResource(dg.ConfigurableResource):
    """The shop's catalog database (SQLite by default, PostgreSQL in production), migrated on first use."""

    db_url: str = Field(description="SQLAlchemy URL of the catalog database (HAIER_CATALOG_DB_URL).")
    sync_lock_wait: float = Field(
        default=1800.0, description="Seconds a sync waits for another run's sync of the same kind to finish "
        "before it is refused (HAIER_SYNC_LOCK_WAIT).")

    _run_lock: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In a run: hold its run lock and clear up after killed runs (``assets/run_liveness.py``)."""
        if context.dagster_run is not None and context.instance is not None:
            from haier_pipeline.assets.run_liveness import claim_run

            self._run_lock = claim_run(self, context.instance, context.dagster_run)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        lock, self._run_lock = self._run_lock, None
        if lock is not None:
            lock.release()

    def engine(self) -> Engine:
        from haier_pipeline.catalog.engine import prepare_database

        return prepare_database(self.db_url)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error."""
        with self.engine().begin() as conn:
            yield conn

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe for logs and metadata."""
        return make_url(self.db_url).render_as_string(hide_password=True)


class MediaResource(dg.ConfigurableResource):
    """The folder that holds localised product images (HAIER_MEDIA_ROOT)."""

    media_root: str = Field(description="Folder where images are stored as images/YYYY/MM/DD/<uuid>.<ext>.")

    @property
    def root(self) -> Path:
        return Path(self.media_root)


class SyncScope(dg.ConfigurableResource):
    """What one run syncs — the original command's flags. Empty means "everything configured".

    Set it in the Launchpad under ``resources.sync_scope.config``.
    """

    product_codes: list[str] = Field(default_factory=list, description="Only these product codes (any number; sent 20 per call).")
    category: str | None = Field(default=None, description="Put synced products in this category instead of their product group.")
    brand: str | None = Field(default=None, description="Assign synced products to this brand instead of Haier's brand name.")
    county_codes: list[str] = Field(default_factory=list, description="6-digit district codes for stock; empty: HAIER_COUNTY_CODES.")

    @field_validator("product_codes")
    @classmethod
    def _check_codes(cls, value: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(code.strip() for code in value))
        if any(not code or len(code) > 64 for code in cleaned):
            raise ValueError("product_codes: every code must be a non-empty string of at most 64 characters")
        return cleaned

    @field_validator("county_codes")
    @classmethod
    def _check_counties(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if not COUNTY_CODE.match(code)]
        if bad:
            raise ValueError(f"county_codes: {bad!r} are not 6-digit district codes (e.g. 110101)")
        return list(dict.fromkeys(value))
