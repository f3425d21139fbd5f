"""The finance domain: payer balances, the low-balance check, their job and schedule."""

from __future__ import annotations

import dagster as dg

from haier_pipeline.settings import Settings

from .assets import account_balances
from .automation import balance_sync_hourly, haier_balance_sync
from .checks import balance_checks


def finance_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=[account_balances], asset_checks=balance_checks(settings.balance_alert_threshold),
                          jobs=[haier_balance_sync], schedules=[balance_sync_hourly])
