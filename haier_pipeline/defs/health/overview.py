"""``sync_overview``: the one place to look first — the last sync of each kind and the health figures.

Its materialisation carries a markdown table (per sync type: status, when, duration, counts,
message) and the targets' latest figures, plus numeric metadata the UI plots over time. It is
refreshed every 15 minutes by ``haier_sync_overview_every_15_minutes`` and can be materialised
from the UI at any time; it never calls Haier.
"""

from typing import Any

import dagster as dg
from sqlalchemy import func, select

from haier_pipeline.catalog.tables import SYNC_TYPES, haier_sync_log
from haier_pipeline.constants import TIMEZONE
from haier_pipeline.defs.metadata import markdown_preview
from haier_pipeline.health.thresholds import TARGETS, judge
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.runs.liveness import utc_now
from haier_pipeline.stock_plan.freshness import stock_freshness
from haier_pipeline.stock_plan.run_plan import PLAN_FIGURES

from .api_health import HEALTH_GROUP, haier_api_health
from .sync_health import RATE_WINDOW, failure_rate
from .targets import RAW_ASSETS, sync_figures

MESSAGE_SHOWN = 120
log = haier_sync_log


def last_syncs(catalog: CatalogResource) -> list[dict[str, Any]]:
    """The newest ``haier_sync_log`` row of each sync type, in :data:`SYNC_TYPES` order."""
    with catalog.begin() as conn:
        newest = select(func.max(log.c.id)).group_by(log.c.sync_type)
        found = conn.execute(select(log).where(log.c.id.in_(newest))).mappings()
        rows = {row["sync_type"]: dict(row) for row in found}
    return [rows[kind] for kind in SYNC_TYPES if kind in rows]


def sync_table(rows: list[Any]) -> dg.MetadataValue:
    return markdown_preview([{
        "sync": row["sync_type"], "status": row["status"], "started (UTC)": f"{row['started_at']:%Y-%m-%d %H:%M:%S}",
        "duration s": "—" if row["duration_seconds"] is None else f"{row['duration_seconds']:.1f}",
        "total": row["total_count"], "ok": row["success_count"], "failed": row["failed_count"],
        "message": (row["message"] or "")[:MESSAGE_SHOWN].replace("|", "/"), "run": (row["run_id"] or "")[:8],
    } for row in rows], limit=len(SYNC_TYPES))


def figures_table(instance: dg.DagsterInstance) -> tuple[dg.MetadataValue, dict[str, float]]:
    lines, numbers = [], {}
    for asset in RAW_ASSETS:
        figures = sync_figures(instance, dg.AssetKey(asset), "")
        for target in TARGETS:
            verdict = judge(target, figures)
            shown = "—" if verdict.value is None else f"{verdict.value:g}"
            mark = "n/a" if verdict.skipped else ("ok" if verdict.passed else "**MISSED**")
            lines.append({"asset": asset, "figure": target.figure, "value": shown, "target": target.line, "": mark})
            if verdict.value is not None:
                numbers[f"{asset}.{target.figure}"] = verdict.value
    return markdown_preview(lines, limit=len(lines)), numbers


def api_health(instance: dg.DagsterInstance) -> dict[str, Any]:
    records = instance.fetch_observations(haier_api_health.key, limit=1).records
    if not records or records[0].asset_observation is None:
        return {"api_health": "no health check yet (haier_api_health_sensor)"}
    seen = records[0].asset_observation.metadata
    return {"api_ok": seen["ok"].value, "api_uptime_30d": seen["uptime_30d"], "api_latency_ms": seen["latency_ms"]}


def stock_plan_figures(instance: dg.DagsterInstance, catalog: CatalogResource, scope: SyncScope) -> dict[str, Any]:
    """The last stock run's plan (pairs due, asked, skipped as fresh, expected staleness) and the stock's ages now."""
    bound = scope.stock_refresh.max_age_seconds
    with catalog.begin() as conn:
        seen = stock_freshness(conn, list(scope.configured_counties), utc_now(), bound)
    figures: dict[str, Any] = {
        "stock_pairs_over_max_age": seen.over_max_age, "stock_pairs_never_asked": seen.never_asked,
        "stock_oldest_pair": seen.oldest_pair, "stock_oldest_age_hours": dg.MetadataValue.float(seen.oldest_age_hours),
    }
    records = instance.fetch_materializations(dg.AssetKey("haier_raw_stock"), limit=1).records
    last = records[0].asset_materialization if records else None
    if last is not None:
        figures |= {f"last_stock_run.{name}": value for name, value in last.metadata.items() if name in PLAN_FIGURES}
    return figures


@dg.asset(
    group_name=HEALTH_GROUP,
    kinds={"sql"},
    description="Start here: the last sync of each kind (status, duration, counts, failures) and the health figures.",
)
def sync_overview(
    context: dg.AssetExecutionContext, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    rows = last_syncs(catalog)
    figures_md, numbers = figures_table(context.instance)
    with catalog.begin() as conn:
        rate = failure_rate(conn, utc_now() - RATE_WINDOW)
    per_type: dict[str, Any] = {}
    for row in rows:
        if row["duration_seconds"] is not None:
            per_type[f"{row['sync_type']}_duration_seconds"] = dg.MetadataValue.float(float(row["duration_seconds"]))
        per_type[f"{row['sync_type']}_failed"] = int(row["failed_count"])
    return dg.MaterializeResult(metadata={
        "last_syncs": sync_table(rows),
        "health_figures": figures_md,
        "failure_rate_24h": dg.MetadataValue.float(round(rate.rate, 6)),
        "failed_records_24h": rate.failed,
        "syncs_24h": rate.rows,
        **{name: dg.MetadataValue.float(float(value)) for name, value in numbers.items()},
        **per_type,
        **api_health(context.instance),
        **stock_plan_figures(context.instance, catalog, sync_scope),
    })


haier_sync_overview_job = dg.define_asset_job(
    "haier_sync_overview_job", selection=[sync_overview], executor_def=dg.in_process_executor,
    description="Refresh sync_overview (no Haier calls).",
)
overview_schedule = dg.ScheduleDefinition(
    name="haier_sync_overview_every_15_minutes", job=haier_sync_overview_job, cron_schedule="*/15 * * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh sync_overview every 15 minutes.",
)
