"""Logistics tracking: one partition per tracked order code, polled until the order is delivered.

- ``tracked_orders`` (an external asset) is the list of orders to follow, filled by
  ``haier-track-order`` (or any INSERT).
- ``logistics_records`` (partitioned by the dynamic ``order_codes`` partitions) fetches the
  order's three logistics lists, stores their new entries, and marks the order delivered once
  every delivery has a 已签收 record.
- ``haier_tracked_orders_sensor`` turns newly tracked codes into partitions and polls each once;
  ``haier_logistics_poll_hourly`` re-polls the undelivered ones. Delivered orders are left alone.
"""


import time

import dagster as dg

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.orders import (
    is_delivered,
    latest_status,
    mark_polled,
    store_logistics,
    tracked_orders_by_code,
)
from haier_pipeline.constants import HAIER_API_POOL
from haier_pipeline.defs.metadata import api_stats, columns_metadata, failures_markdown, markdown_preview
from haier_pipeline.haier_api import HaierApiError, HaierAuthError
from haier_pipeline.resources import CatalogResource, HaierApiResource
from haier_pipeline.runs.liveness import utc_now
from haier_pipeline.runs.tracking import close_abandoned_logs, describe_error, tracked_sync

LOGISTICS_GROUP = "logistics"

ORDER_PARTITIONS = "order_codes"
order_partitions = dg.DynamicPartitionsDefinition(name=ORDER_PARTITIONS)

tracked_orders = dg.AssetSpec(
    "tracked_orders", group_name=LOGISTICS_GROUP, kinds={"sql"},
    description="Retail order codes whose logistics are followed; add them with `haier-track-order <code>`.",
)


@dg.asset(
    metadata=columns_metadata(tables.logistics_records, tables.tracked_orders),
    group_name=LOGISTICS_GROUP,
    kinds={"api", "sql"},
    pool=HAIER_API_POOL,
    deps=[tracked_orders],
    partitions_def=order_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="The three logistics lists of each tracked order (new entries only, by payload SHA-256); "
                "marks the order delivered once every delivery is signed for (已签收).",
)
def logistics_records(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource
) -> dg.MaterializeResult:
    close_abandoned_logs(context, catalog)
    codes = list(context.partition_keys)
    client = haier_api.get_client()
    started, now, before = time.monotonic(), utc_now(), api_stats(haier_api)
    with catalog.begin() as conn:
        orders = tracked_orders_by_code(conn, codes)
    summary, new_entries, known_entries, delivered_now = [], 0, 0, 0
    with tracked_sync(catalog, "order", context.run_id, context.log) as tracker:
        for code in codes:
            order = orders.get(code)
            if order is None:
                tracker.failed(f"{code}: not in tracked_orders")
                continue
            try:
                lists = client.fetch_logistics(code, order.delivery_record_code, order.member_id)
            except HaierAuthError:
                raise
            except HaierApiError as error:
                tracker.failed(f"{code}: {describe_error(error)}")
                continue
            delivered = is_delivered(lists)
            with catalog.begin() as conn:
                counts = store_logistics(conn, code, lists, context.run_id, now)
                mark_polled(conn, code, now, delivered)
            tracker.succeeded()
            new_entries, known_entries = new_entries + counts.inserted, known_entries + counts.unchanged
            delivered_now += int(delivered and order.delivered_at is None)
            summary.append({"order": code, "latest status": latest_status(lists) or "—",
                            "delivered": "yes" if delivered else "no",
                            "entries": sum(len(entries) for entries in lists.values()), "new": counts.inserted})
        if tracker.failures and not tracker.success:
            raise dg.Failure(description=f"no order's logistics could be fetched; first: {tracker.failures[0]}")
    calls = api_stats(haier_api)["total_calls"] - before["total_calls"]
    return dg.MaterializeResult(
        metadata={
            "orders_polled": tracker.success,
            "orders_failed": tracker.failed_count,
            "delivered_this_run": delivered_now,
            "entries_new": new_entries,
            "entries_unchanged": known_entries,
            "orders": markdown_preview(summary, limit=50),
            "failures": failures_markdown(tracker.failures),
            "sync_status": tracker.status,
            "api_calls": calls,
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "sandbox": haier_api.uses_sandbox,
        }
    )
