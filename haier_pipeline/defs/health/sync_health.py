"""Sensors over the sync log: close what failed runs left open, and watch the failure rate.

- ``haier_sync_failure_sensor`` fires when any run of this code location fails (the three
  syncs, the new-products sync and ad-hoc materializations alike): it closes that run's
  ``processing`` rows in ``haier_sync_log`` as ``failed`` and sends an alert.
- ``haier_sync_failure_rate_sensor`` sums the last 24 hours of closed rows; when
  failed/total crosses the original system's 5 % threshold it alerts once (and once more
  when the rate falls back). Each tick it first clears up after killed runs, so a ``kill -9``
  is dealt with even when no new run starts: sync runs the instance still calls ``STARTED``
  but whose process is gone are marked failed (``runs.liveness.sweep_dead_runs``; the failure
  sensor then alerts), and rows left ``processing`` by any run that no longer holds its run
  lock are closed as ``failed`` — the same liveness rule the syncs apply when they start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg
from sqlalchemy import Connection, func, select

from haier_pipeline.alerts import Alert
from haier_pipeline.catalog import tables
from haier_pipeline.catalog.sync_log import fail_sync_logs_for_run
from haier_pipeline.resources import AlertResource, CatalogResource
from haier_pipeline.runs.liveness import sweep_dead_runs, utc_now

FAILURE_RATE_THRESHOLD = 0.05  # the original system's alert: 同步失败率超过5%
RATE_WINDOW = timedelta(hours=24)
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
    name="haier_sync_failure_sensor", minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Closes a failed run's open haier_sync_log rows as failed and sends an alert (log line, webhook).",
)
def haier_sync_failure_sensor(context: dg.RunFailureSensorContext, catalog: CatalogResource,
                              alerts: AlertResource) -> None:
    run = context.dagster_run
    reason = failure_reason(context)
    with catalog.begin() as conn:
        closed = fail_sync_logs_for_run(conn, run.run_id, f"run failed: {reason}", utc_now())
    alerts.send(
        Alert(
            kind="run_failure", title=f"{run.job_name} failed", message=reason, run_id=run.run_id,
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
        return (
            f"{self.failed} of {self.total} records failed ({self.rate:.2%}) over {self.rows} sync(s) in the last 24 h"
        )


def failure_rate(conn: Connection, since: datetime) -> FailureRate:
    rows, total, failed = conn.execute(
        select(func.count(), func.coalesce(func.sum(log.c.total_count), 0), func.coalesce(func.sum(log.c.failed_count),
                                                                                          0))
        .where(log.c.started_at >= since, log.c.status.in_(("success", "partial", "failed")))
    ).one()
    return FailureRate(rows=int(rows), total=int(total), failed=int(failed))


@dg.sensor(
    name="haier_sync_failure_rate_sensor", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts when more than 5 % of the records synced in the last 24 h failed; clears up after killed runs.",
)
def haier_sync_failure_rate_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource, alerts: AlertResource
) -> dg.SensorResult:
    was_above = bool(json.loads(context.cursor or "{}").get("above", False))
    now = utc_now()
    swept = sweep_dead_runs(catalog, context.instance)
    if swept.summary():
        context.log.warning(f"cleared up after killed runs: {swept.summary()}")
    with catalog.begin() as conn:
        figures = failure_rate(conn, now - RATE_WINDOW)
    above = figures.rate > FAILURE_RATE_THRESHOLD
    details = {"failure_rate": round(figures.rate, 4), "failed": figures.failed, "total": figures.total,
               "syncs": figures.rows, "threshold": FAILURE_RATE_THRESHOLD}
    if above and not was_above:
        alerts.send(
            Alert(kind="failure_rate", title="sync failure rate above 5 %", message=figures.summary(), details=details),
            context.log,
        )
    elif was_above and not above:
        alerts.send(
            Alert(
                kind="failure_rate_recovered", title="sync failure rate back under 5 %", message=figures.summary(),
                severity="info", details=details,
            ),
            context.log,
        )
    state = "ABOVE THRESHOLD" if above else "ok"
    swept_text = f"; {swept.summary()}" if swept.summary() else ""
    return dg.SensorResult(
        skip_reason=f"{state}: {figures.summary()}{swept_text}",
        cursor=json.dumps({"above": above, "rate": round(figures.rate, 6), "checked_at": now.isoformat()}),
    )
