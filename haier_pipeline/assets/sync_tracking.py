"""One ``haier_sync_log`` row per sync type per run, opened on start and always closed.

A run that raises closes its row as ``failed`` with the reason; a run that is killed outright
leaves ``processing`` behind, which the next run (``close_abandoned_logs``) or the run-failure
sensor closes. While its row is open a sync holds its kind's lock (``catalog/locks.py``), so a
second sync of the same kind is refused; and a row whose run holds no run lock
(``run_liveness.py``) belongs to a dead run — whatever a Dagster instance, which never hears of
a ``kill -9``, still says about that run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import dagster as dg

from haier_pipeline.catalog.locks import SyncBusy, runs_alive, sync_lock
from haier_pipeline.catalog.sync_log import close_sync_log, fail_open_sync_logs, open_sync_log, open_sync_logs
from haier_pipeline.resources import CatalogResource

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


ABANDONED_REASON = "run ended without closing its log (process killed)"


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
    """Close log rows left ``processing`` by runs that are no longer alive (killed processes).

    Alive means holding its run lock now (``run_liveness``); the instance's run status is not
    asked, since a killed process leaves its run ``STARTED`` there (and a run of another instance
    is not there at all).
    """
    with catalog.begin() as conn:  # rows first, locks second: a row opened after this read is never judged
        candidates = [(row_id, run_id) for row_id, run_id in open_sync_logs(conn) if run_id != context.run_id]
    if not candidates:
        return 0
    alive = runs_alive(catalog.engine(), {run_id for _, run_id in candidates})
    dead = [row_id for row_id, run_id in candidates if run_id not in alive]
    with catalog.begin() as conn:
        closed = fail_open_sync_logs(conn, dead, ABANDONED_REASON, utc_now())
    if closed:
        context.log.warning(f"closed {closed} sync log row(s) left 'processing' by dead runs")
    return closed


@contextmanager
def tracked_sync(catalog: CatalogResource, sync_type: str, run_id: str) -> Iterator[SyncTracker]:
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


def _tracked(catalog: CatalogResource, sync_type: str, run_id: str) -> Iterator[SyncTracker]:
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
