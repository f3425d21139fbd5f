"""Materialization metadata that makes the Dagster UI useful: counts, previews, schemas, health figures."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd
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


def run_metadata(
    haier_api: HaierApiResource, tracker: SyncTracker, outcome: DrainOutcome, started: float
) -> dict[str, Any]:
    """Counts, timings and the original system's monitoring figures, plotted over time by the UI."""
    seconds = max(time.monotonic() - started, 1e-9)
    stats = haier_api.get_client().stats.snapshot()
    calls = max(stats.calls, 1)
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
        "api_calls": stats.calls,
        "api_retries": stats.retries,
        "api_mean_latency_ms": dg.MetadataValue.float(round(stats.total_latency * 1000 / calls, 2)),
        "sandbox": haier_api.uses_sandbox,
    }
