"""The sync jobs named by the design (full, prices, stock) and their schedules, the original system's cron.

| original cron line                                   | schedule                            |
|------------------------------------------------------|-------------------------------------|
| ``0 2 * * *``  ``sync_haier_products --sync-prices --sync-stock`` | ``haier_full_sync_daily``  |
| ``0 * * * *``  ``sync_haier_products --sync-prices``  | ``haier_price_sync_hourly``         |
| ``*/30 * * * *`` ``sync_haier_products --sync-stock`` | ``haier_stock_sync_every_30_minutes`` |

The full sync runs its independent steps at the same time in threads of one process
(``haier_pipeline.runs.executor.threaded_executor``): images come from image hosts, not the gateway,
so they download while stock is fetched; gateway steps still run one at a time on the run's one
rate-limited client. The price and stock syncs are one chain of steps each and run in-process.
Each run carries its sync kind as a tag (the run
queue lets one run per kind at a time); scheduled runs also carry ``haier/trigger=schedule``. Stock
runs are unpartitioned: one run covers every configured county.
"""

from __future__ import annotations

import dagster as dg

from haier_pipeline.constants import SYNC_KIND_TAG, TIMEZONE, TRIGGER_TAG
from haier_pipeline.runs.executor import threaded_executor

# "history" holds product_price_history, extended from the raw prices by every full and price sync.
# "shop" publishes into a Django shop at the end of every sync (a no-op while HAIER_SHOP_DB_URL is unset).
FULL_SYNC_SELECTION = dg.AssetSelection.groups("haier_raw", "catalog", "media", "history", "shop")
PRICE_SYNC_SELECTION = (dg.AssetSelection.assets("haier_raw_prices", "products", "shop_products")
                        | dg.AssetSelection.groups("history"))
STOCK_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_stock", "product_stock", "shop_products")


def _job(name: str, selection: dg.AssetSelection, kind: str, description: str,
         executor: dg.ExecutorDefinition = dg.in_process_executor) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(name, selection=selection, executor_def=executor,
                               tags={SYNC_KIND_TAG: kind}, description=description)


haier_full_sync = _job(
    "haier_full_sync", FULL_SYNC_SELECTION, "full",
    "Products, prices, stock, images and catalog tables: `sync_haier_products --sync-prices --sync-stock`.",
    threaded_executor,
)
haier_price_sync = _job(
    "haier_price_sync", PRICE_SYNC_SELECTION, "prices",
    "Prices only, for the products already listed (the original's hourly cron).",
)
haier_stock_sync = _job(
    "haier_stock_sync", STOCK_SYNC_SELECTION, "stock", "Stock only, per county (the original's every-30-minutes cron)."
)


def _schedule(
    name: str, job: dg.UnresolvedAssetJobDefinition, cron: str, kind: str, what: str
) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name, job=job, cron_schedule=cron, execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING, tags={SYNC_KIND_TAG: kind, TRIGGER_TAG: "schedule"},
        description=f"{what} (cron `{cron}`, {TIMEZONE}).",
    )


full_sync_daily = _schedule("haier_full_sync_daily", haier_full_sync, "0 2 * * *", "full", "Daily 02:00 full sync")
price_sync_hourly = _schedule("haier_price_sync_hourly", haier_price_sync, "0 * * * *", "prices", "Hourly price sync")
stock_sync_half_hourly = _schedule(
    "haier_stock_sync_every_30_minutes", haier_stock_sync, "*/30 * * * *", "stock", "Stock sync every 30 minutes"
)

SYNC_JOBS = [haier_full_sync, haier_price_sync, haier_stock_sync]
SCHEDULES = [full_sync_daily, price_sync_hourly, stock_sync_half_hourly]
