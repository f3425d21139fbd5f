"""One ``haier_sync_log`` row per sync type per run, opened on start and always closed.

A run that raises closes its row as ``failed`` with the reason; a run that is killed outright
leaves ``processing`` behind, which the next run (``close_abandoned_logs``) or the run-failure
sensor closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import dagster as dg

from haier_pipeline.catalog.sync_log import close_stale_sync_logs, close_sync_log, open_sync_log
from haier_pipeline.resources import CatalogResource

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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


def close_abandoned_logs(context: dg.AssetExecutionContext, catalog: CatalogResource) -> int:
    """Close log rows left ``processing`` by runs that are no longer alive (killed processes)."""
    active = {run.run_id for run in context.instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_STATUSES))}
    active.add(context.run_id)
    with catalog.begin() as conn:
        closed = close_stale_sync_logs(conn, active, "run ended without closing its log (process killed)", utc_now())
    if closed:
        context.log.warning(f"closed {closed} sync log row(s) left 'processing' by dead runs")
    return closed


@contextmanager
def tracked_sync(catalog: CatalogResource, sync_type: str, run_id: str) -> Iterator[SyncTracker]:
    """Open the run's log row for ``sync_type``; close it with the tracker's counts or the error."""
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
