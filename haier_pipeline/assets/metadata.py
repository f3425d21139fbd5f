"""Materialization metadata that makes the Dagster UI useful: counts, previews, schemas, health figures."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from sqlalchemy import Table

from haier_pipeline.haier_api import HaierApiResource

from .streaming import DrainOutcome
from .sync_tracking import SyncTracker

FAILURES_SHOWN = 20


def table_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=column.name, type=str(column.type)) for column in table.columns]
    )


def markdown_preview(rows: Sequence[Mapping[str, Any]], limit: int = 5) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    import pandas as pd  # imported when a preview is drawn: pandas costs ~1 s of every process start
    frame = pd.DataFrame([dict(row) for row in rows[:limit]]).astype(str)
    return dg.MetadataValue.md(frame.to_markdown(index=False))


def failures_markdown(failures: Sequence[str]) -> dg.MetadataValue:
    if not failures:
        return dg.MetadataValue.md("_none_")
    lines = [f"- {line}" for line in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        lines.append(f"- … and {len(failures) - FAILURES_SHOWN} more (see haier_sync_log)")
    return dg.MetadataValue.md("\n".join(lines))


def write_metadata(counts: Any) -> dict[str, Any]:
    return {
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "rows_written": counts.inserted + counts.updated,
        "nothing_changed": counts.inserted + counts.updated == 0,
    }


def api_stats(haier_api: HaierApiResource) -> dict[str, Any]:
    """The client's counters now; take one at an asset's start and pass it to :func:`run_metadata`."""
    return haier_api.get_client().stats.snapshot()


def run_metadata(
    haier_api: HaierApiResource, tracker: SyncTracker, outcome: DrainOutcome, started: float, stats_before: dict[str, Any]
) -> dict[str, Any]:
    """Counts, timings and the original system's monitoring figures, plotted over time by the UI.

    API figures are this asset's own: the client is shared by every asset of the run.
    """
    seconds = max(time.monotonic() - started, 1e-9)
    now = api_stats(haier_api)
    calls = now["total_calls"] - stats_before["total_calls"]
    attempts = now["attempts"] - stats_before["attempts"]
    latency = now["total_latency_s"] - stats_before["total_latency_s"]
    return {
        **write_metadata(outcome.counts),
        "records_received": tracker.total,
        "records_stored": tracker.success,
        "records_failed": tracker.failed_count,
        "failures": failures_markdown(tracker.failures),
        "sync_status": tracker.status,
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
        "db_write_seconds": dg.MetadataValue.float(round(outcome.write_seconds, 3)),
        "products_per_minute": dg.MetadataValue.float(round(tracker.success * 60 / seconds, 1)),
        "success_rate": dg.MetadataValue.float(round(tracker.success / tracker.total, 4) if tracker.total else 1.0),
        "error_rate": dg.MetadataValue.float(round(tracker.failed_count / tracker.total, 4) if tracker.total else 0.0),
        "api_calls": calls,
        "api_retries": now["retries"] - stats_before["retries"],
        "api_throttled_429": now["throttled_429"] - stats_before["throttled_429"],
        "api_mean_latency_ms": dg.MetadataValue.float(round(latency * 1000 / attempts, 2) if attempts else 0.0),
        "sandbox": haier_api.uses_sandbox,
    }
