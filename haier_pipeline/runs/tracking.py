"""One ``haier_sync_log`` row per sync type per run, opened on start and always closed.

A run that raises closes its row as ``failed`` with the reason; a run that is killed outright
leaves ``processing`` behind, which the next run (``close_abandoned_logs``) or the run-failure
sensor closes. While its row is open a sync holds its kind's lock (``catalog/locks.py``), so a
second sync of the same kind waits its turn (logging "waiting for run X"), up to the catalogue's
``sync_lock_wait``, and is refused only after that; and a row whose run holds no run lock
(``liveness.py``) belongs to a dead run — whatever a Dagster instance, which never hears of
a ``kill -9``, still says about that run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from haier_pipeline.catalog.locks import Holder, SyncBusy, sync_lock
from haier_pipeline.catalog.sync_log import close_sync_log, hold_sync_log, open_sync_log

from .liveness import CatalogHandle, close_dead_logs, utc_now

ACTIVE_STATUSES = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


@dataclass
class SyncTracker:
    """Counts what one sync received, stored and failed on, naming every failure."""

    total: int = 0
    success: int = 0
    failures: list[str] = field(default_factory=list)
    ensure_locked: Callable[[], None] = lambda: None  # raises once the sync's lock is lost (before every write)

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
def tracked_sync(catalog: CatalogHandle, sync_type: str, run_id: str, log: Any = None,
                 keep_open: bool = False) -> Iterator[SyncTracker]:
    """Open the run's log row for ``sync_type``; close it with the tracker's counts or the error.

    ``keep_open``: on success record the counts but leave the row ``processing``, for the run's end to close
    once the catalogue is written (``runs/closing.py``); an error still closes it ``failed`` at once.

    Holds ``sync_type``'s lock throughout. While another run holds it, waits (``log`` hears "waiting for
    run X"), for at most the catalogue's ``sync_lock_wait`` seconds; refused (:class:`SyncBusy`, logged as
    ``failed``) only then.
    """

    def waiting(holder: Holder | None, waited: float) -> None:
        if log is not None:
            who = holder.describe() if holder else "another run"
            log.info(f"waiting for {who} to finish its {sync_type!r} sync ({waited:.0f} s so far; "
                     f"at most {catalog.sync_lock_wait:.0f} s)")

    with ExitStack() as held:
        try:
            lock = held.enter_context(sync_lock(catalog.engine(), sync_type, run_id, catalog.sync_lock_wait, waiting))
        except SyncBusy as busy:
            with catalog.begin() as conn:
                refused = open_sync_log(conn, sync_type, run_id, utc_now())
                close_sync_log(conn, refused, total=0, success=0, failed=0, failures=[],
                               error=f"refused: {busy}", now=utc_now())
            raise
        yield from _tracked(catalog, sync_type, run_id, lock.check, keep_open)


def _tracked(catalog: CatalogHandle, sync_type: str, run_id: str,
             ensure_locked: Callable[[], None], keep_open: bool) -> Iterator[SyncTracker]:
    with catalog.begin() as conn:
        log_id = open_sync_log(conn, sync_type, run_id, utc_now())
    tracker = SyncTracker(ensure_locked=ensure_locked)
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
        if keep_open:
            hold_sync_log(conn, log_id, total=tracker.total, success=tracker.success, failed=tracker.failed_count,
                          failures=tracker.failures, now=utc_now())
            return
        close_sync_log(
            conn, log_id, total=tracker.total, success=tracker.success, failed=tracker.failed_count,
            failures=tracker.failures, error=None, now=utc_now(),
        )
