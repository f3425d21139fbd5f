"""County partitions for stock: one partition per configured 6-digit district code.

A partitioned run (one county, or a range in a single-run backfill) syncs those counties; an
unpartitioned run (the schedules, ``dagster job execute``) syncs every county in scope, so one
run covers the whole catalogue at the API's full rate, and records each county partition it
covered so the UI shows them materialised. The counties come from ``settings.county_codes``
through :func:`county_partitions`, called by ``build_definitions``.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from haier_pipeline.resources import SyncScope


def county_partitions(county_codes: Sequence[str]) -> dg.StaticPartitionsDefinition:
    """One partition per configured county."""
    return dg.StaticPartitionsDefinition(list(county_codes))


def record_county_partitions(
    context: dg.AssetExecutionContext, scope: SyncScope, stored_per_county: dict[str, int]
) -> None:
    """In a run with no partition, record each county it covered as materialised, so the UI's
    partition view matches the catalogue (a partitioned run records its own partitions)."""
    if context.has_partition_key or context.has_partition_key_range:
        return
    for county, stored in stored_per_county.items():
        if county in scope.configured_counties:
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=context.asset_key, partition=county,
                    metadata={"records_stored": stored, "run_id": dg.MetadataValue.text(context.run_id)},
                )
            )


def counties_for_run(context: dg.AssetExecutionContext, scope: SyncScope) -> list[str]:
    """The counties this run covers: its partition keys, else the run config's, else all configured."""
    if context.has_partition_key or context.has_partition_key_range:
        return list(context.partition_keys)
    return scope.counties()
