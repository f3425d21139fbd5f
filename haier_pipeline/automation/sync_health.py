"""Sensors over the sync log: close what failed runs left open, and watch the failure rate.

- ``haier_sync_failure_sensor`` fires when any run of this code location fails (the three
  syncs, the new-products sync and ad-hoc materializations alike): it closes that run's
  ``processing`` rows in ``haier_sync_log`` as ``failed`` and sends an alert.
- ``haier_sync_failure_rate_sensor`` sums the last 24 hours of closed rows; when
  failed/total crosses the original system's 5 % threshold it alerts once (and once more
  when the rate falls back). Each tick it also closes rows left ``processing`` by runs that
  are no longer alive in this instance — a killed run is closed even when no new run starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
from sqlalchemy import Connection, func, select

from haier_pipeline.assets.sync_tracking import utc_now
from haier_pipeline.catalog import tables
from haier_pipeline.catalog.sync_log import OPEN_STATUSES, close_stale_sync_logs, fail_sync_logs_for_run
from haier_pipeline.resources import CatalogResource

from .alerts import Alert, send_alert

FAILURE_RATE_THRESHOLD = 0.05  # the original system's alert: 同步失败率超过5%
RATE_WINDOW = timedelta(hours=24)
# A row whose run this instance has never heard of may belong to a live run of another instance
# (a CLI run with its own DAGSTER_HOME): only after this long is it presumed dead.
UNKNOWN_RUN_GRACE = timedelta(hours=6)
REASON_LENGTH = 500

log = tables.haier_sync_log


def failure_reason(context: dg.RunFailureSensorContext) -> str:
    """The first failed step's error (the client's errors carry no secrets), else the run's failure message."""
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:  # Dagster wraps the asset's own exception
            error = error.cause
        if error is not None and error.message:
            first_line = error.message.strip().splitlines()[0]
            return f"step {event.step_key} failed: {first_line}"[:REASON_LENGTH]
    return (context.failure_event.message or "run failed")[:REASON_LENGTH]


@dg.run_failure_sensor(
    name="haier_sync_failure_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Closes a failed run's open haier_sync_log rows as failed and sends an alert (log line, webhook).",
)
def haier_sync_failure_sensor(context: dg.RunFailureSensorContext, catalog: CatalogResource) -> None:
    run = context.dagster_run
    reason = failure_reason(context)
    with catalog.begin() as conn:
        closed = fail_sync_logs_for_run(conn, run.run_id, f"run failed: {reason}", utc_now())
    send_alert(
        Alert(
            kind="run_failure",
            title=f"{run.job_name} failed",
            message=reason,
            run_id=run.run_id,
            details={"job": run.job_name, "sync_log_rows_closed": closed},
        ),
        context.log,
    )


@dataclass(frozen=True)
class FailureRate:
    """Failed and total records over the closed sync-log rows of a window."""

    rows: int
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def summary(self) -> str:
        return f"{self.failed} of {self.total} records failed ({self.rate:.2%}) over {self.rows} sync(s) in the last 24 h"


def failure_rate(conn: Connection, since: datetime) -> FailureRate:
    rows, total, failed = conn.execute(
        select(func.count(), func.coalesce(func.sum(log.c.total_count), 0), func.coalesce(func.sum(log.c.failed_count), 0))
        .where(log.c.started_at >= since, log.c.status.in_(("success", "partial", "failed")))
    ).one()
    return FailureRate(rows=int(rows), total=int(total), failed=int(failed))


def sweep_dead_runs(conn: Connection, instance: dg.DagsterInstance, now: datetime) -> int:
    """Close rows left open by runs that are over (or unknown here and older than the grace period)."""
    open_rows = conn.execute(
        select(log.c.run_id, log.c.started_at).where(log.c.status.in_(OPEN_STATUSES), log.c.run_id.is_not(None))
    ).all()
    alive: set[str] = set()
    for run_id, started_at in open_rows:
        run = instance.get_run_by_id(run_id)
        if (run is None and now - started_at < UNKNOWN_RUN_GRACE) or (run is not None and not run.is_finished):
            alive.add(run_id)
    if len(alive) == len({row.run_id for row in open_rows}):
        return 0
    return close_stale_sync_logs(conn, alive, "run ended without closing its log (process killed)", now)


@dg.sensor(
    name="haier_sync_failure_rate_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts when more than 5 % of the records synced in the last 24 h failed; closes logs of dead runs.",
)
def haier_sync_failure_rate_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult:
    was_above = bool(json.loads(context.cursor or "{}").get("above", False))
    now = utc_now()
    with catalog.begin() as conn:
        swept = sweep_dead_runs(conn, context.instance, now)
        figures = failure_rate(conn, now - RATE_WINDOW)
    if swept:
        context.log.warning(f"closed {swept} sync log row(s) left 'processing' by runs that are no longer alive")
    above = figures.rate > FAILURE_RATE_THRESHOLD
    details = {"failure_rate": round(figures.rate, 4), "failed": figures.failed, "total": figures.total,
               "syncs": figures.rows, "threshold": FAILURE_RATE_THRESHOLD}
    if above and not was_above:
        send_alert(Alert(kind="failure_rate", title="sync failure rate above 5 %", message=figures.summary(),
                         details=details), context.log)
    elif was_above and not above:
        send_alert(Alert(kind="failure_rate_recovered", title="sync failure rate back under 5 %",
                         message=figures.summary(), severity="info", details=details), context.log)
    state = "ABOVE THRESHOLD" if above else "ok"
    swept_text = f"; closed {swept} abandoned log row(s)" if swept else ""
    return dg.SensorResult(
        skip_reason=f"{state}: {figures.summary()}{swept_text}",
        cursor=json.dumps({"above": above, "rate": round(figures.rate, 6), "checked_at": now.isoformat()}),
    )
