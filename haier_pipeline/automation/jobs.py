"""The sync jobs: the design's full sync, prices only, stock only — and products only (the original command
run without flags: listing → brands, categories, products; no prices, no stock).

They run in-process: every step waits on the same rate-limited gateway, so parallel step
processes would add start-up cost (seconds per step) without adding throughput.
"""

from __future__ import annotations

import dagster as dg

SYNC_KIND_TAG = "haier/sync_kind"

# "history" holds product_price_history, extended from the raw prices by every full and price sync.
FULL_SYNC_SELECTION = dg.AssetSelection.groups("haier_raw", "catalog", "media", "history")
PRICE_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_prices", "products") | dg.AssetSelection.groups("history")
STOCK_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_stock", "product_stock")
PRODUCTS_SYNC_SELECTION = dg.AssetSelection.assets("haier_raw_products", "brands", "categories", "products")

haier_full_sync = dg.define_asset_job(
    "haier_full_sync",
    selection=FULL_SYNC_SELECTION,
    executor_def=dg.in_process_executor,
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

haier_products_sync = dg.define_asset_job(
    "haier_products_sync",
    selection=PRODUCTS_SYNC_SELECTION,
    executor_def=dg.in_process_executor,
    tags={SYNC_KIND_TAG: "products"},
    description="Products only: the listing, brands, categories and products (`sync_haier_products` with no flags).",
)

SYNC_JOBS = [haier_full_sync, haier_price_sync, haier_stock_sync, haier_products_sync]
