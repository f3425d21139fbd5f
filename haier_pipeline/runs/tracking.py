"""One ``haier_sync_log`` row per sync type per run, opened on start and always closed.

A run that raises closes its row as ``failed`` with the reason; a run that is killed outright
leaves ``processing`` behind, which the next run (``close_abandoned_logs``) or the run-failure
sensor closes. While its row is open a sync holds its kind's lock (``catalog/locks.py``), so a
second sync of the same kind is refused; and a row whose run holds no run lock
(``liveness.py``) belongs to a dead run — whatever a Dagster instance, which never hears of
a ``kill -9``, still says about that run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import dagster as dg

from haier_pipeline.catalog.locks import SyncBusy, sync_lock
from haier_pipeline.catalog.sync_log import close_sync_log, open_sync_log

from .liveness import CatalogHandle, close_dead_logs, utc_now

ACTIVE_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass
class SyncTracker:
    """Counts what one sync received, stored and failed on, naming every failure."""

    total: int = 0
    success: int = 0
    failures: list[str] = field(default_factory=list)

    def succeeded(self, count: int = 1) -> None:
        self.total += count
        self.success += count

    def failed(self, description: str) -> None:
        self.total += 1
        self.failures.append(description)

    @property
    def failed_count(self) -> int:
        return len(self.failures)

    @property
    def status(self) -> str:
        if not self.failures:
            return "success"
        return "partial" if self.success else "failed"


def describe_error(exc: BaseException) -> str:
    """A one-line reason for the sync log; the client's errors are already free of secrets."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:1000]


def close_abandoned_logs(context: dg.AssetExecutionContext, catalog: CatalogHandle) -> int:
    """Close log rows left ``processing`` by runs that are no longer alive (``liveness.close_dead_logs``)."""
    closed = close_dead_logs(catalog, context.run_id)
    if closed:
        context.log.warning(f"closed {closed} sync log row(s) left 'processing' by dead runs")
    return closed


@contextmanager
def tracked_sync(catalog: CatalogHandle, sync_type: str, run_id: str) -> Iterator[SyncTracker]:
    """Open the run's log row for ``sync_type``; close it with the tracker's counts or the error.

    Holds ``sync_type``'s lock throughout; refused (:class:`SyncBusy`, logged as ``failed``) while
    another run holds it.
    """
    with ExitStack() as held:
        try:
            held.enter_context(sync_lock(catalog.engine(), sync_type, run_id))
        except SyncBusy as busy:
            with catalog.begin() as conn:
                refused = open_sync_log(conn, sync_type, run_id, utc_now())
                close_sync_log(conn, refused, total=0, success=0, failed=0, failures=[],
                               error=f"refused: {busy}", now=utc_now())
            raise
        yield from _tracked(catalog, sync_type, run_id)


def _tracked(catalog: CatalogHandle, sync_type: str, run_id: str) -> Iterator[SyncTracker]:
    with catalog.begin() as conn:
        log_id = open_sync_log(conn, sync_type, run_id, utc_now())
    tracker = SyncTracker()
    try:
        yield tracker
    except BaseException as exc:
        with catalog.begin() as conn:
            close_sync_log(
                conn, log_id, total=tracker.total, success=tracker.success, failed=tracker.failed_count,
                failures=tracker.failures, error=describe_error(exc), now=utc_now(),
            )
        raise
    with catalog.begin() as conn:
        close_sync_log(
            conn, log_id, total=tracker.total, success=tracker.success, failed=tracker.failed_count,
            failures=tracker.failures, error=None, now=utc_now(),
        )
