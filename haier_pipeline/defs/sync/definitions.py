"""The sync domain: raw payloads, catalog tables, price history; their checks, jobs, schedules, new-products sensor."""

from __future__ import annotations

import dagster as dg

from haier_pipeline.settings import Settings

from .automation import SCHEDULES, SYNC_JOBS
from .catalog import brands, categories, product_stock, products
from .checks import CHECKS
from .history import one_open_row_per_product, product_price_history
from .new_products import haier_new_products_sensor, haier_new_products_sync
from .partitions import county_partitions
from .raw import build_raw_stock, haier_raw_prices, haier_raw_products
from .stock_freshness import stock_max_age_check


def sync_definitions(settings: Settings) -> dg.Definitions:
    """Stock is partitioned by ``settings.county_codes``."""
    raw_stock = build_raw_stock(county_partitions(settings.county_codes))
    return dg.Definitions(
        assets=[
            haier_raw_products,
            haier_raw_prices,
            raw_stock,
            brands,
            categories,
            products,
            product_stock,
            product_price_history,
        ],
        asset_checks=[*CHECKS, one_open_row_per_product, stock_max_age_check],
        jobs=[*SYNC_JOBS, haier_new_products_sync],
        schedules=SCHEDULES,
        sensors=[haier_new_products_sensor],
    )
