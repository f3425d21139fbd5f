"""The catalog database as a Dagster resource: one migrated engine per URL, and the run's lock held for the run."""


from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.catalog.locks import CONFIRM_DEAD
from haier_pipeline.runs.closing import close_run_sync_logs
from haier_pipeline.runs.liveness import claim_run


class CatalogResource(dg.ConfigurableResource):
    """The shop's catalog database (SQLite by default, PostgreSQL in production), migrated on first use.

    ``db_url`` comes from the settings (``HAIER_CATALOG_DB_URL``) only: it is a resource dependency,
    not a run-config field, so no run can point the sync at another database (run config naming it
    is refused by Dagster's config check before the run starts), and its password never reaches the UI.
    """

    db_url: dg.ResourceDependency[str] = Field(repr=False, description="SQLAlchemy URL of the catalog database.")
    sync_lock_wait: float = Field(
        default=1800.0, description="Seconds a sync waits for another run's sync of the same kind to finish "
        "before it is refused (HAIER_SYNC_LOCK_WAIT).")
    # Not run config either: a Launchpad run set to 0 would declare a live run dead on one dropped session.
    dead_run_confirm: dg.ResourceDependency[float] = Field(
        default=CONFIRM_DEAD,  # type: ignore[arg-type]  # a plain value, as db_url takes one
        description="On PostgreSQL, seconds between the two looks that must both miss a run's "
        "session before the run is declared dead (HAIER_DEAD_RUN_CONFIRM_SECONDS).")

    _run_lock: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In a run: hold its run lock and clear up after killed runs (``runs/liveness.py``)."""
        if context.dagster_run is not None and context.instance is not None:
            self._run_lock = claim_run(self, context.instance, context.dagster_run)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """At the run's end, still holding its lock: close its sync-log rows by what its steps did."""
        lock, self._run_lock = self._run_lock, None
        if lock is None:
            return
        try:
            if context.dagster_run is not None and context.instance is not None:
                close_run_sync_logs(self, context.instance, context.dagster_run)
        finally:
            lock.release()

    @property
    def run_closes_logs(self) -> bool:
        """Whether this run's end closes its sync-log rows (a run holding its lock), so a fetch may leave them open."""
        return self._run_lock is not None

    def engine(self) -> Engine:
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
