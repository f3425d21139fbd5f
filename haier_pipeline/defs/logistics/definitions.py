"""The logistics domain: tracked orders, their logistics records, the job, sensor and hourly poll."""

from __future__ import annotations

import dagster as dg

from .assets import logistics_records, tracked_orders
from .automation import haier_logistics_poll, haier_logistics_sync, haier_tracked_orders_sensor


def logistics_definitions() -> dg.Definitions:
    return dg.Definitions(assets=[tracked_orders, logistics_records], jobs=[haier_logistics_sync],
                          sensors=[haier_tracked_orders_sensor], schedules=[haier_logistics_poll])
