"""Logistics automation: the job, the sensor that adds newly tracked orders, the hourly re-poll.

``haier_tracked_orders_sensor`` turns newly tracked codes into partitions and polls each once;
``haier_logistics_poll_hourly`` re-polls the undelivered ones. Delivered orders are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from haier_pipeline.catalog.orders import check_order_code, orders_since, undelivered_order_codes
from haier_pipeline.constants import SYNC_KIND_TAG, TIMEZONE, TRIGGER_TAG
from haier_pipeline.resources import CatalogResource

from .assets import ORDER_PARTITIONS, logistics_records, order_partitions

POLL_CRON = "20 * * * *"

haier_logistics_sync = dg.define_asset_job(
    "haier_logistics_sync",
    selection=dg.AssetSelection.assets(logistics_records),
    partitions_def=order_partitions,
    executor_def=dg.in_process_executor,
    tags={SYNC_KIND_TAG: "logistics"},  # dagster.yaml: one logistics run at a time
    description="Logistics of tracked orders (one partition per order code); launched by the sensor and the "
                "hourly poll.",
)


@dg.sensor(
    name="haier_tracked_orders_sensor",
    job=haier_logistics_sync,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds each newly tracked order code as an `order_codes` partition and polls it once "
                "(cursor: tracked_orders.id).",
)
def haier_tracked_orders_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource
) -> dg.SensorResult | dg.SkipReason:
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
    known = set(context.instance.get_dynamic_partitions(ORDER_PARTITIONS))
    new_codes = [order.order_code for order in usable if order.order_code not in known]
    requests = [
        dg.RunRequest(
            partition_key=order.order_code, run_key=f"tracked-order:{order.id}", tags={TRIGGER_TAG: "tracked_orders"}
        )
        for order in usable
        if order.delivered_at is None
    ]
    context.log.info(
        f"{len(found)} order(s) tracked since id {last_id}: {len(new_codes)} new partition(s), {len(requests)} poll(s)"
    )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[order_partitions.build_add_request(new_codes)] if new_codes else [],
        cursor=str(found[-1].id),
    )


@dg.schedule(
    name="haier_logistics_poll_hourly", job=haier_logistics_sync, cron_schedule=POLL_CRON, execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Re-polls every tracked order not yet delivered (cron `{POLL_CRON}`, {TIMEZONE}).",
)
def haier_logistics_poll(
    context: dg.ScheduleEvaluationContext, catalog: CatalogResource
) -> Iterator[dg.RunRequest | dg.SkipReason]:
    with catalog.begin() as conn:
        pending = undelivered_order_codes(conn)
    known = set(context.instance.get_dynamic_partitions(ORDER_PARTITIONS))
    due = [code for code in pending if code in known]  # the sensor adds (and polls) the others first
    if not due:
        waiting = f" ({len(pending)} await their partition from haier_tracked_orders_sensor)" if pending else ""
        yield dg.SkipReason(f"no undelivered orders to poll{waiting}")
        return
    stamp = context.scheduled_execution_time.isoformat()
    for code in due:
        yield dg.RunRequest(
            partition_key=code, run_key=f"logistics-poll:{code}:{stamp}", tags={TRIGGER_TAG: "schedule"}
        )
