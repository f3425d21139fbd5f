"""Know which runs are alive, and clear up after the ones a ``kill -9`` left behind.

A Dagster instance never hears of a killed process: its run stays ``STARTED`` for ever, its
sync-log rows stay ``processing``, and (worse) the pool slots its running step had claimed stay
claimed — with the project's ``haier_api`` pool limit of 2, two killed syncs block every later
sync ("Step blocked by limit for pool haier_api") until someone deletes them by hand. The daemon
cannot help either: the default run launcher offers no worker health check.

So every run holds a run lock in the catalog database (``catalog/locks.py``) from resource
set-up to teardown, and tags itself with the catalogue it writes. When a run starts, before any
step claims a pool slot, :func:`reap_dead_runs` finds the sync runs of this catalogue that the
instance still calls ``STARTED`` but that hold no run lock, marks them failed, frees their pool
slots and closes their open log rows. Only sync jobs (tagged ``haier/sync_kind``) are judged:
they run in-process, so their lock is held for the whole run. A run that has just released its
lock and is about to record success gets a short grace to do so.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import dagster as dg
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url

from haier_pipeline.catalog.locks import RunLock, run_lock, runs_alive
from haier_pipeline.catalog.sync_log import fail_open_sync_logs, fail_sync_logs_for_run, open_sync_logs
from haier_pipeline.constants import CATALOG_TAG, SYNC_KIND_TAG

FINISHING_GRACE = 1.0  # seconds a lock-less STARTED run gets to record its end before it is judged dead
ABANDONED_REASON = "run ended without closing its log (process killed)"


class CatalogHandle(Protocol):
    """What bookkeeping needs of the catalogue (``resources.CatalogResource`` is one)."""

    @property
    def db_url(self) -> str: ...

    @property
    def sync_lock_wait(self) -> float: ...

    @property
    def dead_run_confirm(self) -> float: ...

    def engine(self) -> Engine: ...

    def begin(self) -> AbstractContextManager[Connection]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def catalog_id(db_url: str) -> str:
    """A short, password-free identity of a catalogue, for tagging runs."""
    rendered = make_url(db_url).render_as_string(hide_password=True)
    return hashlib.sha256(rendered.encode()).hexdigest()[:16]


def claim_run(catalog: CatalogHandle, instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunLock:
    """Hold this run's lock, tag the run with its catalogue, and reap the dead sync runs found there."""
    engine = catalog.engine()
    held = run_lock(engine, run.run_id)
    try:
        ours = catalog_id(catalog.db_url)
        if run.tags.get(CATALOG_TAG) != ours:
            instance.add_run_tags(run.run_id, {CATALOG_TAG: ours})
        reap_dead_runs(catalog, instance, run.run_id)
    except BaseException:
        held.release()
        raise
    return held


def reap_dead_runs(catalog: CatalogHandle, instance: dg.DagsterInstance, own_run_id: str) -> list[str]:
    """Mark failed the ``STARTED`` sync runs of this catalogue whose process is gone; returns their ids."""
    started = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED],
                                                      tags={CATALOG_TAG: catalog_id(catalog.db_url)}))
    candidates = [run for run in started if run.run_id != own_run_id and run.tags.get(SYNC_KIND_TAG)]
    engine = catalog.engine()

    def dead(runs: list[dg.DagsterRun], confirm: float = catalog.dead_run_confirm) -> list[dg.DagsterRun]:
        alive = runs_alive(engine, [run.run_id for run in runs], confirm=confirm)
        return [run for run in runs if run.run_id not in alive
                and getattr(instance.get_run_by_id(run.run_id), "status", None) == dg.DagsterRunStatus.STARTED]

    suspects = dead(candidates)
    deadline = time.monotonic() + FINISHING_GRACE
    while suspects and time.monotonic() < deadline:  # a run between lock release and RUN_SUCCESS finishes now
        time.sleep(0.1)
        suspects = dead(suspects, confirm=0)  # already missed twice (PostgreSQL); now only the grace
    reaped = []
    for run in suspects:
        by = f"run {own_run_id}" if own_run_id else "the sync health sensor"
        why = f"the run's process died (it holds no run lock); marked failed by {by}"
        instance.report_run_failed(run, message=why)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        with catalog.begin() as conn:
            fail_sync_logs_for_run(conn, run.run_id, ABANDONED_REASON, utc_now())
        reaped.append(run.run_id)
    return reaped


def close_dead_logs(catalog: CatalogHandle, own_run_id: str = "") -> int:
    """The one dead-run rule for log rows: a row left ``processing`` whose run holds no run lock is closed as failed.

    The instance's run status is not asked: a killed process leaves its run ``STARTED`` there (and a
    run of another instance is not there at all). Rows are read before locks, so a row opened after
    the read is never judged.
    """
    with catalog.begin() as conn:
        candidates = [(row_id, run_id) for row_id, run_id in open_sync_logs(conn) if run_id != own_run_id]
    if not candidates:
        return 0
    alive = runs_alive(catalog.engine(), {run_id for _, run_id in candidates}, confirm=catalog.dead_run_confirm)
    with catalog.begin() as conn:
        return fail_open_sync_logs(conn, [row for row, run_id in candidates if run_id not in alive],
                                   ABANDONED_REASON, utc_now())


@dataclass(frozen=True)
class Sweep:
    """What one clear-up found: killed runs marked failed, and log rows closed."""

    runs_reaped: list[str]
    rows_closed: int

    def summary(self) -> str:
        parts = [f"marked {len(self.runs_reaped)} killed run(s) failed"] if self.runs_reaped else []
        parts += [f"closed {self.rows_closed} abandoned log row(s)"] if self.rows_closed else []
        return "; ".join(parts)


def sweep_dead_runs(catalog: CatalogHandle, instance: dg.DagsterInstance) -> Sweep:
    """Fail the killed sync runs of this catalogue, then close every open row whose run holds no run lock."""
    return Sweep(reap_dead_runs(catalog, instance, own_run_id=""), close_dead_logs(catalog))
