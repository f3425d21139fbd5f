"""Warning checks on every raw sync: the original's targets, judged on each materialisation's own figures.

Each raw asset (``haier_raw_products``, ``haier_raw_prices``, ``haier_raw_stock``) gets one check per
target of :mod:`.thresholds` (``<figure>_target``), run right after the asset in the same run. A miss
is a warning (the data landed; the run still succeeds), with the figure and its threshold in metadata.
The latency check also raises the "single API call over ``HAIER_SLOW_CALL_SECONDS``" alert, once per
run (a run tag remembers it was sent), naming the endpoint, through the ``alerts`` resource.
"""


from collections.abc import Mapping
from typing import Any

import dagster as dg

from haier_pipeline.alerts import Alert
from haier_pipeline.health.thresholds import TARGETS, Target, judge
from haier_pipeline.resources import AlertResource

RAW_ASSETS = ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")
SLOW_CALL_TAG = "haier/slow_call_alerted"
RECENT = 20  # a stock run also records one figure-less materialisation per county


def sync_figures(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> Mapping[str, Any]:
    """The metadata of the asset's latest materialisation carrying sync figures (this run's, if it made one)."""
    records = instance.fetch_materializations(key, limit=RECENT).records
    with_figures = [r for r in records
                    if r.asset_materialization and "records_received" in r.asset_materialization.metadata]
    mine = [r for r in with_figures if r.run_id == run_id]
    chosen = (mine or with_figures)[:1]
    return chosen[0].asset_materialization.metadata if chosen and chosen[0].asset_materialization else {}


def alert_slow_call(context: dg.AssetCheckExecutionContext, alerts: AlertResource, asset: str,
                    figures: Mapping[str, Any]) -> bool:
    """Alert once per run when this asset's slowest API answer took longer than ``HAIER_SLOW_CALL_SECONDS``."""
    limit_s = alerts.slow_call_seconds
    slowest_ms = getattr(figures.get("api_max_latency_ms"), "value", 0.0) or 0.0
    if slowest_ms <= limit_s * 1000:
        return False
    run = context.instance.get_run_by_id(context.run.run_id)
    if run is None or SLOW_CALL_TAG in run.tags:
        return False
    endpoint = getattr(figures.get("api_slowest_endpoint"), "value", None) or "unknown"
    context.instance.add_run_tags(context.run.run_id, {SLOW_CALL_TAG: endpoint})
    alerts.send(Alert(
        kind="slow_api_call", severity="warning", run_id=context.run.run_id,
        title=f"a Haier API call took {slowest_ms / 1000:.1f} s ({endpoint})",
        message=f"the {endpoint} endpoint answered in {slowest_ms / 1000:.2f} s during {asset}, "
                f"over the {limit_s:g} s alert line (API响应时间超过10秒)",
        details={"endpoint": endpoint, "seconds": round(slowest_ms / 1000, 3), "threshold_seconds": limit_s,
                 "asset": asset},
    ), context.log)
    return True


def _target_check(asset: str, target: Target) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset),
        name=f"{target.figure}_target",
        blocking=False,
        description=f"Warns when {target.description} misses the original's target ({target.line}).",
    )
    def _check(context: dg.AssetCheckExecutionContext, alerts: AlertResource) -> dg.AssetCheckResult:
        figures = sync_figures(context.instance, dg.AssetKey(asset), context.run.run_id)
        verdict = judge(target, figures)
        metadata = verdict.metadata()
        if target.figure == "api_p95_latency_ms":
            metadata["slow_call_alert_sent"] = alert_slow_call(context, alerts, asset, figures)
        return dg.AssetCheckResult(passed=verdict.passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)

    return _check


HEALTH_CHECKS: list[dg.AssetChecksDefinition] = [
    _target_check(asset, target) for asset in RAW_ASSETS for target in TARGETS
]
