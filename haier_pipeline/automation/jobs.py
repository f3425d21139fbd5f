"""The three jobs named by the design: full sync, prices only, stock only.

The full sync runs its independent steps at the same time in threads of one process
(``executor.threaded_executor``): images come from image hosts, not the gateway, so they download
while stock is fetched. Gateway steps still run one at a time, sharing the run's client and its
rate limit. The price and stock syncs are one chain of steps each, so they stay in-process.
"""

from __future__ import annotations

import dagster as dg

from .executor import threaded_executor

SYNC_KIND_TAG = "haier/sync_kind"

# "history" holds product_price_history, extended from the raw prices by every full and price sync.
FULL_SYNC_SELECTION = dg.AssetSelection.groups("haier_raw", "catalog", "media", "history")
PRICE_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_prices", "products") | dg.AssetSelection.groups("history")
STOCK_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_stock", "product_stock")

haier_full_sync = dg.define_asset_job(
    "haier_full_sync",
    selection=FULL_SYNC_SELECTION,
    executor_def=threaded_executor,
    tags={SYNC_KIND_TAG: "full"},
    description="Products, prices, stock, images and catalog tables: `sync_haier_products --sync-prices --sync-stock`.",
)

haier_price_sync = dg.define_asset_job(
    "haier_price_sync",
    selection=PRICE_SYNC_SELECTION,
    executor_def=dg.in_process_executor,
    tags={SYNC_KIND_TAG: "prices"},
    description="Prices only, for the products already listed (the original's hourly cron).",
)

haier_stock_sync = dg.define_asset_job(
    "haier_stock_sync",
    selection=STOCK_SYNC_SELECTION,
    executor_def=dg.in_process_executor,
    tags={SYNC_KIND_TAG: "stock"},
    description="Stock only, per county (the original's every-30-minutes cron).",
)

SYNC_JOBS = [haier_full_sync, haier_price_sync, haier_stock_sync]
