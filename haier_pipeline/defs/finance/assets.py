"""Payer account balances over time: ``account_balances``, a row per sale group per run."""


import time
from decimal import Decimal

import dagster as dg

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.balances import StoredBalance, latest_balances, store_balances
from haier_pipeline.constants import HAIER_API_POOL
from haier_pipeline.defs.metadata import columns_metadata, failures_markdown, markdown_preview, table_schema
from haier_pipeline.resources import CatalogResource, HaierApiResource
from haier_pipeline.runs.liveness import utc_now

BALANCE_GROUP = "finance"


def balances_markdown(balances: list[StoredBalance], limit: int = 20) -> dg.MetadataValue:
    return markdown_preview(
        [{"sale group": f"{b.sale_group_code} {b.sale_group_name or ''}".strip(), "payer account": b.payer_account_code,
          "balance": f"{b.balance:,.2f}"} for b in balances[:limit]],
        limit, empty="_no balances_",
    )


@dg.asset(
    metadata=columns_metadata(tables.account_balances),
    group_name=BALANCE_GROUP, kinds={"api", "sql"}, pool=HAIER_API_POOL,
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
