"""The health sensors: the API's pulse every few minutes, and ``pending`` rows for queued sync runs.

- ``haier_api_health_sensor`` requests a token and lists one product, records the outcome as an
  observation of the external asset ``haier_api_health`` (latencies, the error, 30-day uptime),
  alerts after ``HAIER_API_HEALTH_FAILURES`` failures in a row and once more on recovery. Its
  cursor holds the failure streak and the daily counts behind the uptime figure.
- ``haier_sync_queue_sensor`` writes a ``pending`` sync-log row for each sync a queued run will
  do (the run turns it ``processing`` when it starts that sync), and closes the pending rows of
  runs that ended (cancelled, failed) before they started. A sensor — not the code that queues
  the run — because runs are queued by schedules, sensors, the UI, the CLI and GraphQL alike,
  and only the instance sees them all.
"""

from datetime import UTC, datetime

import dagster as dg

from haier_pipeline.alerts import Alert
from haier_pipeline.catalog.sync_log import fail_open_sync_logs, pending_sync_logs, write_pending_sync_logs
from haier_pipeline.health.probe import ProbeResult, probe_api, probe_code
from haier_pipeline.health.uptime import UPTIME_TARGET, HealthLedger
from haier_pipeline.resources import AlertResource, CatalogResource, HaierApiResource

HEALTH_GROUP = "health"

haier_api_health = dg.AssetSpec(
    "haier_api_health",
    group_name=HEALTH_GROUP,
    kinds={"api"},
    description="Haier's gateway as seen by the health sensor: one observation per check (token + one-product "
                "listing), with latencies and the 30-day uptime.",
)


def health_observation(probe: ProbeResult, ledger: HealthLedger) -> dg.AssetObservation:
    return dg.AssetObservation(
        asset_key=haier_api_health.key,
        metadata={
            "ok": probe.ok,
            "latency_ms": dg.MetadataValue.float(round(probe.latency_ms, 1)),
            "token_ms": dg.MetadataValue.float(round(probe.token_ms, 1)),
            "listing_ms": dg.MetadataValue.float(round(probe.listing_ms, 1)),
            "error": probe.error or "",
            "failures_in_row": ledger.failures_in_row,
            "uptime_30d": dg.MetadataValue.float(round(ledger.uptime, 6)),
            "uptime_target": UPTIME_TARGET,
            "checks_30d": ledger.checks,
            "product_code": probe.product_code,
        },
    )


def health_alert(probe: ProbeResult, ledger: HealthLedger, threshold: int) -> Alert | None:
    """``api_down`` when the streak first reaches ``threshold``; ``api_recovered`` on the first success after it."""
    details = {"failures_in_row": ledger.failures_in_row, "latency_ms": round(probe.latency_ms, 1),
               "uptime_30d": round(ledger.uptime, 6)}
    if not probe.ok and ledger.failures_in_row >= threshold and not ledger.alerted:
        ledger.alerted = True
        return Alert(kind="api_down", title=f"Haier API failed {ledger.failures_in_row} health checks in a row",
                     message=probe.error or "health check failed", details=details)
    if probe.ok and ledger.alerted:
        ledger.alerted = False
        return Alert(kind="api_recovered", title="Haier API answers again", severity="info",
                     message=f"token and listing answered in {probe.latency_ms:.0f} ms", details=details)
    return None


def check_api_health(context: dg.SensorEvaluationContext, haier_api: HaierApiResource, catalog: CatalogResource,
                     alerts: AlertResource) -> dg.SensorResult:
    """One tick: probe, count, alert on a streak or a recovery, observe ``haier_api_health``."""
    if haier_api.uses_sandbox:
        return dg.SensorResult(skip_reason="HAIER_BASE_URL is unset: no gateway to check (the built-in sandbox runs "
                                           "only inside runs)", cursor=context.cursor)
    ledger = HealthLedger.from_cursor(context.cursor)
    probe = probe_api(haier_api, probe_code(catalog))
    ledger.record(probe.ok, datetime.now(UTC))
    alert = health_alert(probe, ledger, alerts.api_health_failures)
    if alert is not None:
        alerts.send(alert, context.log)
    state = "ok" if probe.ok else f"FAILED ({probe.error})"
    return dg.SensorResult(
        asset_events=[health_observation(probe, ledger)],
        cursor=ledger.to_cursor(),
        skip_reason=f"API {state} in {probe.latency_ms:.0f} ms; 30-day uptime {ledger.uptime:.4%}",
    )


def api_health_sensor(interval_seconds: int) -> dg.SensorDefinition:
    """``haier_api_health_sensor``, ticking every ``HAIER_API_HEALTH_INTERVAL_SECONDS``."""

    @dg.sensor(
        name="haier_api_health_sensor",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Every few minutes: a token request and a one-product listing call, observed on "
                    "haier_api_health; alerts after consecutive failures and on recovery.",
    )
    def haier_api_health_sensor(context: dg.SensorEvaluationContext, haier_api: HaierApiResource,
                                catalog: CatalogResource, alerts: AlertResource) -> dg.SensorResult:
        return check_api_health(context, haier_api, catalog, alerts)

    return haier_api_health_sensor


# Which sync-log rows each job's run writes (ad-hoc runs: from their asset selection).
JOB_SYNC_TYPES: dict[str, tuple[str, ...]] = {
    "haier_full_sync": ("products", "prices", "stock", "images"),
    "haier_products_sync": ("products",),
    "haier_price_sync": ("prices",),
    "haier_stock_sync": ("stock",),
    "haier_new_products_sync": ("stock", "images"),
    "haier_logistics_sync": ("order",),
}
ASSET_SYNC_TYPES = {"haier_raw_products": "products", "haier_raw_prices": "prices", "haier_raw_stock": "stock",
                    "product_images": "images", "logistics_records": "order"}
QUEUED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
ENDED = {dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}


def run_sync_types(run: dg.DagsterRun) -> tuple[str, ...]:
    if run.job_name in JOB_SYNC_TYPES:
        return JOB_SYNC_TYPES[run.job_name]
    keys = run.asset_selection or set()
    names = [key.to_user_string() for key in keys]
    return tuple(dict.fromkeys(ASSET_SYNC_TYPES[name] for name in names if name in ASSET_SYNC_TYPES))


def sync_queued_runs(instance: dg.DagsterInstance, catalog: CatalogResource, now: datetime) -> tuple[int, int]:
    """Write pending rows for queued runs and close those of runs that ended unstarted; (written, closed)."""
    written = closed = 0
    queued = instance.get_runs(filters=dg.RunsFilter(statuses=QUEUED), limit=500)
    with catalog.begin() as conn:
        for run in queued:
            written += write_pending_sync_logs(conn, run.run_id, run_sync_types(run), now)
        pending = pending_sync_logs(conn)
    for run_id, ids in pending.items():
        found = instance.get_run_by_id(run_id)
        if found is not None and found.status not in ENDED:
            continue
        why = "run not found in this Dagster instance" if found is None else f"run {found.status.value.lower()}"
        with catalog.begin() as conn:
            closed += fail_open_sync_logs(conn, ids, f"{why} before this sync started", now)
    return written, closed


@dg.sensor(
    name="haier_sync_queue_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes `pending` haier_sync_log rows for queued sync runs; closes them if the run ends unstarted.",
)
def haier_sync_queue_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SkipReason:
    written, closed = sync_queued_runs(context.instance, catalog, datetime.now(UTC))
    return dg.SkipReason(f"{written} pending row(s) written, {closed} closed (runs ended before starting)")


