"""County partitions for stock: one partition per configured 6-digit district code.

A partitioned run (one county, or a range in a single-run backfill) syncs those counties;
an unpartitioned run (the scheduled syncs, ``dagster job execute``) syncs every county in
scope, so one run still covers the whole catalogue at the API's full rate.
"""

from __future__ import annotations

import dagster as dg

from haier_pipeline.resources import SyncScope
from haier_pipeline.settings import load_settings

COUNTY_CODES: tuple[str, ...] = load_settings().county_codes
FIRST_COUNTY: str = COUNTY_CODES[0]

county_partitions = dg.StaticPartitionsDefinition(list(COUNTY_CODES))


def counties_for_run(context: dg.AssetExecutionContext, scope: SyncScope) -> list[str]:
    """The counties this run covers: its partition keys, else the run config's, else all configured."""
    if context.has_partition_key_range:
        return list(context.partition_keys)
    return scope.county_codes or list(COUNTY_CODES)
