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
from collections.abc import Iterator

import dagster as dg

from haier_pipeline.catalog.orders import (
    check_order_code,
    is_delivered,
    latest_status,
    mark_polled,
    orders_since,
    store_logistics,
    tracked_orders_by_code,
    undelivered_order_codes,
)
from haier_pipeline.haier_api import HaierApiError, HaierApiResource, HaierAuthError
from haier_pipeline.automation.jobs import SYNC_KIND_TAG
from haier_pipeline.automation.schedules import TIMEZONE, TRIGGER_TAG
from haier_pipeline.resources import CatalogResource

from .metadata import api_stats, failures_markdown, markdown_preview
from .sync_tracking import close_abandoned_logs, describe_error, tracked_sync, utc_now

LOGISTICS_GROUP = "logistics"
POLL_CRON = "20 * * * *"

order_partitions = dg.DynamicPartitionsDefinition(name="order_codes")

tracked_orders = dg.AssetSpec(
    "tracked_orders",
    group_name=LOGISTICS_GROUP,
    kinds={"sql"},
    description="Retail order codes whose logistics are followed; add them with `haier-track-order <code>`.",
)


@dg.asset(
    group_name=LOGISTICS_GROUP,
    kinds={"api", "sql"},
    pool="haier_api",
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
    with tracked_sync(catalog, "order", context.run_id) as tracker:
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


haier_logistics_sync = dg.define_asset_job(
    "haier_logistics_sync",
    selection=dg.AssetSelection.assets(logistics_records),
    partitions_def=order_partitions,
    executor_def=dg.in_process_executor,
    tags={SYNC_KIND_TAG: "logistics"},  # dagster.yaml: one logistics run at a time
    description="Logistics of tracked orders (one partition per order code); launched by the sensor and the hourly poll.",
)


@dg.sensor(
    name="haier_tracked_orders_sensor",
    job=haier_logistics_sync,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds each newly tracked order code as an `order_codes` partition and polls it once (cursor: tracked_orders.id).",
)
def haier_tracked_orders_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult | dg.SkipReason:
    last_id = int(context.cursor or 0)
    with catalog.begin() as conn:
        found = orders_since(conn, last_id)
    if not found:
        return dg.SkipReason(f"no orders tracked since id {last_id}")
    usable = []
    for order in found:  # rows written by hand may hold codes no partition key can carry
        try:
            check_order_code(order.order_code)
        except ValueError as error:
            context.log.warning(f"tracked_orders id {order.id} skipped: {error}")
            continue
        usable.append(order)
    known = set(context.instance.get_dynamic_partitions(order_partitions.name))
    new_codes = [order.order_code for order in usable if order.order_code not in known]
    requests = [
        dg.RunRequest(partition_key=order.order_code, run_key=f"tracked-order:{order.id}",
                      tags={TRIGGER_TAG: "tracked_orders"})
        for order in usable if order.delivered_at is None
    ]
    context.log.info(f"{len(found)} order(s) tracked since id {last_id}: {len(new_codes)} new partition(s), {len(requests)} poll(s)")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[order_partitions.build_add_request(new_codes)] if new_codes else [],
        cursor=str(found[-1].id),
    )


@dg.schedule(
    name="haier_logistics_poll_hourly",
    job=haier_logistics_sync,
    cron_schedule=POLL_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Re-polls every tracked order not yet delivered (cron `{POLL_CRON}`, {TIMEZONE}).",
)
def haier_logistics_poll(context: dg.ScheduleEvaluationContext, catalog: CatalogResource) -> Iterator[dg.RunRequest | dg.SkipReason]:
    with catalog.begin() as conn:
        pending = undelivered_order_codes(conn)
    known = set(context.instance.get_dynamic_partitions(order_partitions.name))
    due = [code for code in pending if code in known]  # the sensor adds (and polls) the others first
    if not due:
        waiting = f" ({len(pending)} await their partition from haier_tracked_orders_sensor)" if pending else ""
        yield dg.SkipReason(f"no undelivered orders to poll{waiting}")
        return
    stamp = context.scheduled_execution_time.isoformat()
    for code in due:
        yield dg.RunRequest(partition_key=code, run_key=f"logistics-poll:{code}:{stamp}",
                            tags={TRIGGER_TAG: "schedule"})


LOGISTICS_ASSETS = [tracked_orders, logistics_records]
LOGISTICS_JOBS = [haier_logistics_sync]
LOGISTICS_SENSORS = [haier_tracked_orders_sensor]
LOGISTICS_SCHEDULES = [haier_logistics_poll]
