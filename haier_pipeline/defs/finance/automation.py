"""The balances job and its hourly schedule."""

from __future__ import annotations

import dagster as dg

from haier_pipeline.constants import TIMEZONE

from .assets import account_balances

haier_balance_sync = dg.define_asset_job(
    "haier_balance_sync", selection=dg.AssetSelection.assets(account_balances), executor_def=dg.in_process_executor,
    description="Payer account balances (and the low-balance check).",
)

balance_sync_hourly = dg.ScheduleDefinition(
    name="haier_balance_sync_hourly", job=haier_balance_sync, cron_schedule="10 * * * *", execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly payer balance snapshot (cron `10 * * * *`, Asia/Shanghai).",
)
