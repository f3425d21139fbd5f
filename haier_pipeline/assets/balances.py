"""Payer account balances over time: ``account_balances``, a row per sale group per run, and a low-balance check.

The check warns (severity WARN: the run still succeeds) when any balance of the latest
observation is under ``HAIER_BALANCE_ALERT_THRESHOLD``; the threshold comes from the settings
the definitions were built with, so :func:`balance_checks` is a factory.
"""


import time
from decimal import Decimal

import dagster as dg

from haier_pipeline.automation.schedules import TIMEZONE
from haier_pipeline.catalog import tables
from haier_pipeline.catalog.balances import StoredBalance, below, latest_balances, store_balances
from haier_pipeline.haier_api import HaierApiResource
from haier_pipeline.resources import CatalogResource

from .metadata import failures_markdown, table_schema
from .sync_tracking import utc_now

BALANCE_GROUP = "finance"


def balances_markdown(balances: list[StoredBalance], limit: int = 20) -> dg.MetadataValue:
    if not balances:
        return dg.MetadataValue.md("_no balances_")
    import pandas as pd  # imported when a preview is drawn: pandas costs ~1 s of every process start
    frame = pd.DataFrame(
        [{"sale group": f"{b.sale_group_code} {b.sale_group_name or ''}".strip(), "payer account": b.payer_account_code,
          "balance": f"{b.balance:,.2f}"} for b in balances[:limit]]
    )
    return dg.MetadataValue.md(frame.to_markdown(index=False))


@dg.asset(
    group_name=BALANCE_GROUP,
    kinds={"api", "sql"},
    pool="haier_api",
    description="The customer's payer account balance per sale group, one row per group per run (history over time).",
)
def account_balances(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource
) -> dg.MaterializeResult:
    started, now = time.monotonic(), utc_now()
    result = haier_api.get_client().fetch_balances()
    failures = [error.describe() for error in result.errors]
    if failures and not result.records:
        raise dg.Failure(description=f"every balance line was malformed; first: {failures[0]}")
    for failure in failures:
        context.log.warning(f"balance line skipped: {failure}")
    with catalog.begin() as conn:
        stored = store_balances(conn, result.records, context.run_id, now)
        current = latest_balances(conn)
    amounts = [b.balance for b in current]
    return dg.MaterializeResult(
        metadata={
            "rows_inserted": stored,
            "sale_groups": len({b.sale_group_code for b in current}),
            "lines_malformed": len(failures),
            "failures": failures_markdown(failures),
            # Exact decimal text, not float: money stays Decimal all the way to the UI.
            "lowest_balance": dg.MetadataValue.text(str(min(amounts)) if amounts else "—"),
            "total_balance": dg.MetadataValue.text(str(sum(amounts, Decimal(0)))),
            "balances": balances_markdown(current),
            "dagster/row_count": stored,
            "dagster/column_schema": table_schema(tables.account_balances),
            "duration_seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "sandbox": haier_api.uses_sandbox,
        }
    )


def balance_checks(threshold: Decimal) -> list[dg.AssetChecksDefinition]:
    """The low-balance check for ``threshold`` (``settings.balance_alert_threshold``)."""

    @dg.asset_check(asset=account_balances, name="balances_above_threshold",
                    description=f"Warns when a payer balance of the latest observation is under {threshold:,} "
                                "(HAIER_BALANCE_ALERT_THRESHOLD).")
    def balances_above_threshold(catalog: CatalogResource) -> dg.AssetCheckResult:
        with catalog.begin() as conn:
            current = latest_balances(conn)
        low = below(current, threshold)
        return dg.AssetCheckResult(
            passed=not low,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(low)} of {len(current)} balance(s) under {threshold:,}" if low else None,
            metadata={
                "threshold": dg.MetadataValue.text(str(threshold)),
                "balances_checked": len(current),
                "balances_below": len(low),
                "low_balances": balances_markdown(low),
            },
        )

    return [balances_above_threshold]


haier_balance_sync = dg.define_asset_job(
    "haier_balance_sync",
    selection=dg.AssetSelection.assets(account_balances),
    executor_def=dg.in_process_executor,
    description="Payer account balances (and the low-balance check).",
)

balance_sync_hourly = dg.ScheduleDefinition(
    name="haier_balance_sync_hourly",
    job=haier_balance_sync,
    cron_schedule="10 * * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly payer balance snapshot (cron `10 * * * *`, Asia/Shanghai).",
)

BALANCE_ASSETS = [account_balances]
BALANCE_JOBS = [haier_balance_sync]
BALANCE_SCHEDULES = [balance_sync_hourly]
