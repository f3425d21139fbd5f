"""Raw assets: Haier's payloads for products, prices and stock, persisted as received.

Each one calls the gateway through the shared client, keeps every valid record's payload
(only when it changed), and names every malformed record in the run's sync log. Catalog
tables are derived from these tables, so they can be rebuilt without calling Haier again.
"""


import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from haier_pipeline.automation.executor import GATEWAY_TAG
from haier_pipeline.catalog.raw_store import (
    listed_product_codes,
    mark_unlisted,
    store_raw_prices,
    store_raw_products,
    store_raw_stock,
)
from haier_pipeline.haier_api import CallResult, HaierApiResource, MalformedRecord
from haier_pipeline.haier_api.parsing import parse_price, parse_product, parse_stock
from haier_pipeline.haier_api.records import RecordError
from haier_pipeline.resources import CatalogResource, SyncScope

from .metadata import api_stats, run_metadata
from .partitions import counties_for_run, county_partitions, record_county_partitions
from .streaming import drain_results
from .sync_tracking import close_abandoned_logs, tracked_sync, utc_now

RAW_GROUP = "haier_raw"
Row = TypeVar("Row")


def valid_rows(result: CallResult, row_of: Callable[[Any, int], Row]) -> tuple[list[Row], list[RecordError]]:
    """The rows (product code first) of a call's records that parse; the rest reported, never sinking the call.

    A product the call asked about that the answer leaves out is a failure too, never a silent gap;
    unreadable records (no code to name) are folded into those products' reason.
    """
    rows: list[Row] = []
    errors: list[RecordError] = []
    for index, raw in enumerate(result.records):
        try:
            rows.append(row_of(raw, index))
        except MalformedRecord as malformed:
            errors.append(malformed.error)
    answered = {row[0] for row in rows} | {error.product_code for error in errors if error.product_code}  # type: ignore[index]
    missing = [code for code in dict.fromkeys(result.product_codes) if code not in answered]
    if missing:
        unnamed = [error for error in errors if not error.product_code]
        why = "not in the gateway's answer" + (
            f" (which held {len(unnamed)} unreadable record(s): {unnamed[0].reason})" if unnamed else "")
        errors = [error for error in errors if error.product_code]
        errors += [RecordError(result.endpoint, len(result.records), code, why) for code in missing]
    return rows, errors


def _require_some_success(tracker, what: str) -> None:
    if tracker.failures and not tracker.success:
        raise dg.Failure(description=f"every {what} record failed; first: {tracker.failures[0]}")


@dg.asset(
    group_name=RAW_GROUP,
    kinds={"api", "sql"},
    pool="haier_api",
    op_tags={GATEWAY_TAG: "listing"},
    description="Haier's procurable-products listing, one payload per product code (changes only).",
)
def haier_raw_products(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    close_abandoned_logs(context, catalog)
    client = haier_api.get_client()
    started, now, stats_before = time.monotonic(), utc_now(), api_stats(haier_api)
    seen: set[str] = set()
    duplicates = 0

    def to_rows(result: CallResult) -> tuple[list[tuple[str, dict]], list[RecordError]]:
        nonlocal duplicates
        parsed, errors = valid_rows(result, lambda raw, index: (parse_product(raw, index).product_code, raw))
        rows = []
        for code, raw in parsed:
            if code in seen:
                duplicates += 1
            else:
                seen.add(code)
                rows.append((code, raw))
        return rows, errors

    with tracked_sync(catalog, "products", context.run_id) as tracker:
        codes = sync_scope.product_codes or None
        outcome = drain_results(
            client.fetch_products(codes), to_rows,
            lambda conn, rows: store_raw_products(conn, rows, context.run_id, now),
            lambda row: row[0], catalog, tracker,
        )
        if outcome.failed_calls and codes is None:
            raise dg.Failure(description=f"the product listing could not be fetched: {tracker.failures[0]}")
        _require_some_success(tracker, "product")
        unlisted = 0
        if codes is None:
            with catalog.begin() as conn:
                unlisted = mark_unlisted(conn, seen, context.run_id, now)
    return dg.MaterializeResult(
        metadata={
            **run_metadata(haier_api, tracker, outcome, started, stats_before),
            "duplicates_skipped": duplicates,
            "unlisted_since_last_sync": unlisted,
        }
    )


@dg.asset(
    group_name=RAW_GROUP,
    kinds={"api", "sql"},
    pool="haier_api",
    deps=[haier_raw_products],
    op_tags={GATEWAY_TAG: "prices", "dagster/priority": "1"},  # before stock: products, then images, wait on it
    description="Haier's price answers for every listed product, fetched 20 codes per call (history kept).",
)
def haier_raw_prices(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    close_abandoned_logs(context, catalog)
    client = haier_api.get_client()
    started, now, stats_before = time.monotonic(), utc_now(), api_stats(haier_api)
    with catalog.begin() as conn:
        codes = sync_scope.product_codes or listed_product_codes(conn)

    def to_rows(result: CallResult) -> tuple[list[tuple[str, dict]], list[RecordError]]:
        return valid_rows(result, lambda raw, index: (parse_price(raw, index).product_code, raw))

    with tracked_sync(catalog, "prices", context.run_id) as tracker:
        outcome = drain_results(
            client.fetch_prices(codes), to_rows,
            lambda conn, rows: store_raw_prices(conn, rows, context.run_id, now),
            lambda row: row[0], catalog, tracker,
        )
        _require_some_success(tracker, "price")
    return dg.MaterializeResult(metadata=run_metadata(haier_api, tracker, outcome, started, stats_before))


@dg.asset(
    group_name=RAW_GROUP,
    kinds={"api", "sql"},
    pool="haier_api",
    deps=[haier_raw_products],
    op_tags={GATEWAY_TAG: "stock"},
    partitions_def=county_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Available stock per procurable product and county: one call each (county-partitioned).",
)
def haier_raw_stock(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    close_abandoned_logs(context, catalog)
    client = haier_api.get_client()
    started, now, stats_before = time.monotonic(), utc_now(), api_stats(haier_api)
    counties = counties_for_run(context, sync_scope)
    with catalog.begin() as conn:
        codes = sync_scope.product_codes or listed_product_codes(conn, procurable_only=True)
    pairs = ((code, county) for county in counties for code in codes)

    def to_rows(result: CallResult) -> tuple[list[tuple[str, str, dict]], list[RecordError]]:
        code, county = result.product_codes[0], result.county_code

        def stock_row(raw: Any, index: int) -> tuple[str, str, dict]:
            parse_stock(raw, code, county, index)  # raises MalformedRecord
            return code, county, raw

        rows, errors = valid_rows(result, stock_row)
        # Name the county too: the same product can fail in one county and not in another.
        return rows, [RecordError(e.endpoint, e.index, f"{code}@{county}", e.reason) for e in errors]

    with tracked_sync(catalog, "stock", context.run_id) as tracker:
        outcome = drain_results(
            client.fetch_stock(pairs), to_rows,
            lambda conn, rows: store_raw_stock(conn, rows, context.run_id, now),
            lambda row: (row[0], row[1]), catalog, tracker,
        )
        _require_some_success(tracker, "stock")
    metadata = {**run_metadata(haier_api, tracker, outcome, started, stats_before), "counties": ", ".join(counties)}
    record_county_partitions(context, {**dict.fromkeys(counties, 0), **Counter(county for _, county in outcome.stored_keys)})
    return dg.MaterializeResult(metadata=metadata)
