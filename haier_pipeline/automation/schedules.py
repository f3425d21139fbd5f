"""Schedules equal to the original system's cron, in Asia/Shanghai time."""

from __future__ import annotations

import dagster as dg

from .jobs import haier_full_sync, haier_price_sync, haier_stock_sync

TIMEZONE = "Asia/Shanghai"

full_sync_daily = dg.ScheduleDefinition(
    name="haier_full_sync_daily", job=haier_full_sync, cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 02:00 full sync (cron `0 2 * * *`).",
)
price_sync_hourly = dg.ScheduleDefinition(
    name="haier_price_sync_hourly", job=haier_price_sync, cron_schedule="0 * * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly price sync (cron `0 * * * *`).",
)
stock_sync_half_hourly = dg.ScheduleDefinition(
    name="haier_stock_sync_every_30_minutes", job=haier_stock_sync, cron_schedule="*/30 * * * *",
    execution_timezone=TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Stock sync every 30 minutes (cron `*/30 * * * *`).",
)

SCHEDULES = [full_sync_daily, price_sync_hourly, stock_sync_half_hourly]
