"""Raw assets: Haier's payloads for products, prices and stock, persisted as received.

Each one calls the gateway through the shared client, keeps every valid record's payload
(only when it changed), and names every malformed record in the run's sync log. Catalog
tables are derived from these tables, so they can be rebuilt without calling Haier again.
"""


import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, TypeVar

import dagster as dg

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.raw_store import (
    listed_product_codes,
    mark_unlisted,
    store_raw_prices,
    store_raw_products,
)
from haier_pipeline.constants import GATEWAY_TAG, HAIER_API_POOL
from haier_pipeline.defs.metadata import api_stats, columns_metadata, failures_markdown, write_metadata
from haier_pipeline.haier_api import CallResult, HaierClient, MalformedRecord
from haier_pipeline.haier_api.parsing import parse_price, parse_product, parse_stock
from haier_pipeline.haier_api.records import RecordError
from haier_pipeline.resources import CatalogResource, HaierApiResource, ShopResource, SyncScope
from haier_pipeline.runs.tracking import SyncTracker, close_abandoned_logs, tracked_sync, utc_now
from haier_pipeline.stock_plan.run_plan import plan_stock_run, store_stock_asks
from haier_pipeline.stock_plan.shop_weights import ProductWeights, shop_product_weights

from .partitions import counties_for_run, record_county_partitions
from .streaming import DrainOutcome, drain_results

RAW_GROUP = "haier_raw"
# Stock answers stored (and recorded as asked) per transaction: about a second of the account's 100 calls/s,
# so a killed stock pass asks again at most that second's pairs.
STOCK_CHUNK = 100
Row = TypeVar("Row")


def valid_rows(result: CallResult, row_of: Callable[[Any, int], tuple[Row, Sequence[str]]]
               ) -> tuple[list[Row], list[RecordError]]:
    """The rows (product code first) of a call's records that parse; the rest reported, never sinking the call.

    ``row_of`` gives a record's row and the fields it refused one by one: such a record is stored (those
    fields read as NULL) and named as a ``kept`` error. A product the call asked about that the answer
    leaves out is a failure too, never a silent gap; unreadable records (no code to name) are folded
    into those products' reason.
    """
    rows: list[Row] = []
    errors: list[RecordError] = []
    for index, raw in enumerate(result.records):
        try:
            row, refused = row_of(raw, index)
        except MalformedRecord as malformed:
            errors.append(malformed.error)
            continue
        rows.append(row)
        if refused:
            errors.append(RecordError(result.endpoint, index, row[0], "; ".join(refused), kept=True))  # type: ignore[index]
    answered = {row[0] for row in rows} | {error.product_code for error in errors if error.product_code}  # type: ignore[index]
    missing = [code for code in dict.fromkeys(result.product_codes) if code not in answered]
    if missing:
        unnamed = [error for error in errors if not error.product_code]
        why = "not in the gateway's answer" + (
            f" (which held {len(unnamed)} unreadable record(s): {unnamed[0].reason})" if unnamed else "")
        errors = [error for error in errors if error.product_code]
        errors += [RecordError(result.endpoint, len(result.records), code, why) for code in missing]
    return rows, errors


def run_metadata(
    haier_api: HaierApiResource, tracker: SyncTracker, outcome: DrainOutcome, started: float,
    stats_before: dict[str, Any],
) -> dict[str, Any]:
    """Counts, timings and the original system's monitoring figures, plotted over time by the UI.

    API figures are this asset's own: the client is shared by every asset of the run.
    """
    seconds = max(time.monotonic() - started, 1e-9)
    now = api_stats(haier_api)
    calls = now["total_calls"] - stats_before["total_calls"]
    attempts = now["attempts"] - stats_before["attempts"]
    latency = now["total_latency_s"] - stats_before["total_latency_s"]
    spread = haier_api.get_client().stats.latency_since(stats_before["attempts"])
    return {
        **write_metadata(outcome.counts),
        "records_received": tracker.total,
        "records_stored": tracker.success,
        "records_failed": tracker.failed_count,
        "failures": failures_markdown(tracker.failures),
        "sync_status": tracker.status,
        "duration_seconds": dg.MetadataValue.float(round(seconds, 3)),
        "db_write_seconds": dg.MetadataValue.float(round(outcome.write_seconds, 3)),
        "products_per_minute": dg.MetadataValue.float(round(tracker.success * 60 / seconds, 1)),
        "success_rate": dg.MetadataValue.float(round(tracker.success / tracker.total, 4) if tracker.total else 1.0),
        "error_rate": dg.MetadataValue.float(round(tracker.failed_count / tracker.total, 4) if tracker.total else 0.0),
        "api_calls": calls,
        "api_calls_per_second": dg.MetadataValue.float(round(calls / seconds, 2)),
        # Slots of the account's budget this step let go, its thread waking too late to use them: why a step
        # runs below the rate limit on a busy machine.
        "api_slots_missed": now["slots_missed"] - stats_before["slots_missed"],
        "api_retries": now["retries"] - stats_before["retries"],
        "api_throttled_429": now["throttled_429"] - stats_before["throttled_429"],
        "api_mean_latency_ms": dg.MetadataValue.float(round(latency * 1000 / attempts, 2) if attempts else 0.0),
        "api_p95_latency_ms": dg.MetadataValue.float(round(spread.p95_s * 1000, 2)),
        "api_max_latency_ms": dg.MetadataValue.float(round(spread.max_s * 1000, 2)),
        "api_slowest_endpoint": spread.slowest_endpoint or "",
        # Why a step ran below its budget: calls in flight reached per endpoint, answer-time baseline, cuts and why.
        "api_in_flight": dg.MetadataValue.json(haier_api.get_client().concurrency.figures()),
        "sandbox": haier_api.uses_sandbox,
    }


@dataclass(frozen=True)
class RawStep:
    """What every raw asset opens with: abandoned sync-log rows swept, the run's client, the clock started,
    and the client's counters, so that the step's figures are its own (the client is shared by the run)."""

    haier_api: HaierApiResource
    client: HaierClient
    started: float
    now: datetime
    stats_before: dict[str, Any]

    @classmethod
    def open(cls, context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource
             ) -> Self:
        close_abandoned_logs(context, catalog)
        return cls(haier_api, haier_api.get_client(), time.monotonic(), utc_now(), api_stats(haier_api))

    def metadata(self, tracker: SyncTracker, outcome: DrainOutcome) -> dict[str, Any]:
        """The step's counts, timings and API figures (:func:`run_metadata`)."""
        return run_metadata(self.haier_api, tracker, outcome, self.started, self.stats_before)


def _require_some_success(tracker: SyncTracker, what: str) -> None:
    if tracker.failures and not tracker.success:
        raise dg.Failure(description=f"every {what} record failed; first: {tracker.failures[0]}")


@dg.asset(
    metadata=columns_metadata(tables.haier_raw_products, tables.haier_sync_log),
    group_name=RAW_GROUP, kinds={"api", "sql"}, pool=HAIER_API_POOL, op_tags={GATEWAY_TAG: "listing"},
    description="Haier's procurable-products listing, one payload per product code (changes only).",
)
def haier_raw_products(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    step = RawStep.open(context, haier_api, catalog)
    seen: set[str] = set()
    duplicates = 0

    def to_rows(result: CallResult) -> tuple[list[tuple[str, dict]], list[RecordError]]:
        nonlocal duplicates
        parsed, errors = valid_rows(result, lambda raw, index: ((parse_product(raw, index).product_code, raw), ()))
        rows = []
        for code, raw in parsed:
            if code in seen:
                duplicates += 1
            else:
                seen.add(code)
                rows.append((code, raw))
        return rows, errors

    with tracked_sync(catalog, "products", context.run_id, context.log,
                      keep_open=catalog.run_closes_logs) as tracker:
        codes = sync_scope.codes or None
        outcome = drain_results(
            step.client.fetch_products(codes), to_rows,
            lambda conn, rows: store_raw_products(conn, rows, context.run_id, step.now), lambda row: row[0], catalog,
            tracker,
        )
        if outcome.failed_calls and codes is None:
            raise dg.Failure(description=f"the product listing could not be fetched: {tracker.failures[0]}")
        _require_some_success(tracker, "product")
        unlisted = 0
        if codes is None:
            with catalog.begin() as conn:
                unlisted = mark_unlisted(conn, seen, context.run_id, step.now)
    return dg.MaterializeResult(
        metadata={
            **step.metadata(tracker, outcome),
            "duplicates_skipped": duplicates,
            "unlisted_since_last_sync": unlisted,
        }
    )


@dg.asset(
    metadata=columns_metadata(tables.haier_raw_prices),
    group_name=RAW_GROUP, kinds={"api", "sql"}, pool=HAIER_API_POOL, deps=[haier_raw_products],
    op_tags={GATEWAY_TAG: "prices", "dagster/priority": "1"},  # before stock: products, then images, wait on it
    description="Haier's price answers for every listed product, fetched 20 codes per call (history kept).",
)
def haier_raw_prices(
    context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.MaterializeResult:
    step = RawStep.open(context, haier_api, catalog)
    with catalog.begin() as conn:
        codes = sync_scope.codes or listed_product_codes(conn)

    def to_rows(result: CallResult) -> tuple[list[tuple[str, dict]], list[RecordError]]:
        def price_row(raw: Any, index: int) -> tuple[tuple[str, dict], tuple[str, ...]]:
            record = parse_price(raw, index)
            return (record.product_code, raw), record.refused

        return valid_rows(result, price_row)

    with tracked_sync(catalog, "prices", context.run_id, context.log,
                      keep_open=catalog.run_closes_logs) as tracker:
        outcome = drain_results(
            step.client.fetch_prices(codes), to_rows,
            lambda conn, rows: store_raw_prices(conn, rows, context.run_id, step.now), lambda row: row[0], catalog,
            tracker,
        )
        _require_some_success(tracker, "price")
    return dg.MaterializeResult(metadata=step.metadata(tracker, outcome))


def stock_weights(context: dg.AssetExecutionContext, shop: ShopResource, codes: list[str],
                  weight: float) -> ProductWeights:
    """The shop's sales and views as stock importance when publishing to a shop, else the configured weight."""
    if not shop.enabled:
        return ProductWeights(source="HAIER_STOCK_WEIGHT (no shop: HAIER_SHOP_DB_URL unset)")
    weights = shop_product_weights(shop.engine(), shop.target().tables, codes, weight)
    if weights.fell_back:
        context.log.warning(f"stock importance: {weights.source}")
    return weights


def build_raw_stock(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """``haier_raw_stock`` over ``partitions`` (the configured counties; see ``partitions.county_partitions``)."""

    @dg.asset(
        metadata=columns_metadata(tables.haier_raw_stock, tables.stock_refresh_state),
        group_name=RAW_GROUP, kinds={"api", "sql"}, pool=HAIER_API_POOL, deps=[haier_raw_products],
        op_tags={GATEWAY_TAG: "stock"}, partitions_def=partitions, backfill_policy=dg.BackfillPolicy.single_run(),
        description="Available stock per procurable product and county: one call each (county-partitioned).",
    )
    def haier_raw_stock(
        context: dg.AssetExecutionContext, haier_api: HaierApiResource, catalog: CatalogResource, sync_scope: SyncScope,
        shop: ShopResource,
    ) -> dg.MaterializeResult:
        step = RawStep.open(context, haier_api, catalog)
        counties = counties_for_run(context, sync_scope)
        with catalog.begin() as conn:
            codes = sync_scope.codes or listed_product_codes(conn, procurable_only=True)
        weights = stock_weights(context, shop, codes, sync_scope.stock_refresh.weight)
        with catalog.begin() as conn:
            # Named codes are asked as today's pass did; the nightly full sync too when the budget covers it.
            plan = plan_stock_run(conn, codes, counties, step.now, sync_scope.stock_refresh,
                                  full_pass=sync_scope.full_pass or bool(sync_scope.codes), weights=weights.by_code)
        pairs = plan.pairs

        def to_rows(result: CallResult) -> tuple[list[tuple[str, str, dict]], list[RecordError]]:
            code, county = result.product_codes[0], result.county_code or ""

            def stock_row(raw: Any, index: int) -> tuple[tuple[str, str, dict], tuple[str, ...]]:
                record = parse_stock(raw, code, county, index)  # raises MalformedRecord
                return (code, county, raw), record.refused

            rows, errors = valid_rows(result, stock_row)
            # Name the county too: the same product can fail in one county and not in another.
            return rows, [RecordError(e.endpoint, e.index, f"{code}@{county}", e.reason, e.kept) for e in errors]

        with tracked_sync(catalog, "stock", context.run_id, context.log,
                          keep_open=catalog.run_closes_logs) as tracker:
            outcome = drain_results(
                step.client.fetch_stock(pairs), to_rows,
                lambda conn, rows: store_stock_asks(conn, rows, context.run_id, step.now),
                lambda row: (row[0], row[1]), catalog, tracker, chunk_size=STOCK_CHUNK,
            )
            _require_some_success(tracker, "stock")
        metadata = {**step.metadata(tracker, outcome), "counties": ", ".join(counties),
                    **plan.figures, "stock_weights": weights.source}
        record_county_partitions(
            context, sync_scope, {**dict.fromkeys(counties, 0), **Counter(county for _, county in outcome.stored_keys)}
        )
        return dg.MaterializeResult(metadata=metadata)

    return haier_raw_stock
