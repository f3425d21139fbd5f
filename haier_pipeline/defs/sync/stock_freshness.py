"""``stock_within_max_age``: fails when any listed product × county pair's stock is older than the bound.

The refresh plan asks every pair before ``HAIER_STOCK_MAX_AGE_HOURS``; this check shows when the account's
budget could not keep that promise (the pairs past it, oldest first), so nothing goes unseen unnoticed.
"""

import dagster as dg

from haier_pipeline.defs.metadata import markdown_list
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.runs.liveness import utc_now
from haier_pipeline.stock_plan.freshness import SHOWN, stock_freshness

from .catalog import product_stock


@dg.asset_check(asset=product_stock, name="stock_within_max_age",
                description="Every listed, procurable product's stock in every county is younger than the maximum age.")
def stock_max_age_check(catalog: CatalogResource, sync_scope: SyncScope) -> dg.AssetCheckResult:
    bound = sync_scope.stock_refresh.max_age_seconds
    with catalog.begin() as conn:
        seen = stock_freshness(conn, list(sync_scope.configured_counties), utc_now(), bound)
    return dg.AssetCheckResult(
        passed=seen.over_max_age == 0,
        metadata={
            "max_age_hours": dg.MetadataValue.float(bound / 3600),
            "pairs": seen.pairs,
            "pairs_over_max_age": seen.over_max_age,
            "pairs_never_asked": seen.never_asked,
            "oldest_pair": seen.oldest_pair,
            "oldest_age_hours": dg.MetadataValue.float(seen.oldest_age_hours),
            "over_max_age": markdown_list(seen.examples, SHOWN, seen.over_max_age),
        },
    )
