"""The low-balance check: warns (severity WARN: the run still succeeds) when a payer balance is under the threshold.

The threshold is ``HAIER_BALANCE_ALERT_THRESHOLD`` from the settings the definitions were built
with, so :func:`balance_checks` is a factory.
"""

from __future__ import annotations

from decimal import Decimal

import dagster as dg

from haier_pipeline.catalog.balances import below, latest_balances
from haier_pipeline.resources import CatalogResource

from .assets import account_balances, balances_markdown


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
