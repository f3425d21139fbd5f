"""Schedules equal to the original system's cron, in Asia/Shanghai time.

| original cron line                                   | schedule                            |
|------------------------------------------------------|-------------------------------------|
| ``0 2 * * *``  ``sync_haier_products --sync-prices --sync-stock`` | ``haier_full_sync_daily``  |
| ``0 * * * *``  ``sync_haier_products --sync-prices``  | ``haier_price_sync_hourly``         |
| ``*/30 * * * *`` ``sync_haier_products --sync-stock`` | ``haier_stock_sync_every_30_minutes`` |

Each run carries its sync kind as a tag (the run queue lets one run per kind at a time) and
``haier/trigger=schedule``. Stock runs are unpartitioned: one run covers every configured county.
"""

from __future__ import annotations

import dagster as dg

from .jobs import SYNC_KIND_TAG, haier_full_sync, haier_price_sync, haier_stock_sync

TIMEZONE = "Asia/Shanghai"
TRIGGER_TAG = "haier/trigger"


def _schedule(name: str, job: dg.UnresolvedAssetJobDefinition, cron: str, kind: str, what: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name, job=job, cron_schedule=cron, execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={SYNC_KIND_TAG: kind, TRIGGER_TAG: "schedule"},
        description=f"{what} (cron `{cron}`, {TIMEZONE}).",
    )


full_sync_daily = _schedule("haier_full_sync_daily", haier_full_sync, "0 2 * * *", "full", "Daily 02:00 full sync")
price_sync_hourly = _schedule("haier_price_sync_hourly", haier_price_sync, "0 * * * *", "prices", "Hourly price sync")
stock_sync_half_hourly = _schedule(
    "haier_stock_sync_every_30_minutes", haier_stock_sync, "*/30 * * * *", "stock", "Stock sync every 30 minutes"
)

SCHEDULES = [full_sync_daily, price_sync_hourly, stock_sync_half_hourly]
