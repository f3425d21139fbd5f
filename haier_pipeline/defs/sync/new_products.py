"""The new-products sensor: products that appeared since its last tick get their stock and images now.

A product first appears in the catalog when ``products`` materializes (the daily full sync, or
an ad-hoc run from the UI). Products created after the sensor's cursor (``products.id``) that
still lack stock for a configured county or localised images are sent to
``haier_new_products_sync``, scoped to exactly those codes — so they need not wait for the
next full sync. While a full sync is running the sensor waits: that run is about to fetch
their stock and images itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from sqlalchemy import Connection, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.bulk import chunked
from haier_pipeline.constants import SYNC_KIND_TAG, TRIGGER_TAG
from haier_pipeline.resources import CatalogResource, SyncScope
from haier_pipeline.runs.tracking import ACTIVE_STATUSES

from .automation import haier_full_sync

CODES_PER_RUN = 500

haier_new_products_sync = dg.define_asset_job(
    "haier_new_products_sync",
    selection=dg.AssetSelection.assets("haier_raw_stock", "product_stock", "product_images"),
    executor_def=dg.in_process_executor,
    # Writes stock: shares the stock syncs' queue slot, so it never runs beside haier_stock_sync.
    tags={SYNC_KIND_TAG: "stock"},
    description="Stock (every county) and images for the product codes in run config; launched by the "
                "new-products sensor.",
)


@dataclass(frozen=True)
class NewProduct:
    """A product created after the cursor, and what it is still missing."""

    id: int
    code: str
    needs_stock: bool
    needs_images: bool


def products_since(conn: Connection, last_id: int, counties: Sequence[str]) -> list[NewProduct]:
    """Haier products with ``id > last_id``, oldest first, each marked with what it lacks."""
    p = tables.products.c
    rows = conn.execute(
        select(p.id, p.product_code, p.is_sales, p.product_image_url, p.product_page_urls, p.main_images,
               p.detail_images)
        .where(p.id > last_id, p.source == "haier")
        .order_by(p.id)
    ).all()
    stocked: dict[str, set[str]] = {}
    s = tables.product_stock.c
    for chunk in chunked([row.product_code for row in rows]):
        for code, county in conn.execute(select(s.product_code, s.county_code).where(s.product_code.in_(chunk))):
            stocked.setdefault(code, set()).add(county)
    wanted_counties = set(counties)
    return [
        NewProduct(
            id=row.id,
            code=row.product_code,
            # Haier answers stock only for procurable products; the stock sync asks for no others.
            needs_stock=row.is_sales == "1" and not wanted_counties <= stocked.get(row.product_code, set()),
            # Any stored image means the images pass has seen it (a rejected URL is named in that run, not retried).
            needs_images=bool(row.product_image_url or row.product_page_urls)
            and not (row.main_images or row.detail_images),
        )
        for row in rows
    ]


def full_sync_running(instance: dg.DagsterInstance) -> bool:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=haier_full_sync.name, statuses=ACTIVE_STATUSES), limit=1)
    return bool(runs)


def scope_config(codes: Sequence[str]) -> dict[str, dict]:
    return {"resources": {"sync_scope": {"config": {"product_codes": list(codes)}}}}


@dg.sensor(
    name="haier_new_products_sensor", job=haier_new_products_sync, minimum_interval_seconds=120,
    # Stopped until someone turns it on (UI: Automation, or `dagster sensor start haier_new_products_sensor`):
    # its cursor is per code location, so on first start it would launch runs for every product already there.
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Launches stock and image syncs for products that appeared since the last tick (cursor: products.id). "
                "Stopped by default: turn it on in Automation.",
)
def haier_new_products_sensor(
    context: dg.SensorEvaluationContext, catalog: CatalogResource, sync_scope: SyncScope
) -> dg.SensorResult | dg.SkipReason:
    last_id = int(context.cursor or 0)
    if full_sync_running(context.instance):
        return dg.SkipReason("a haier_full_sync run is in progress: it syncs new products' stock and images itself")
    with catalog.begin() as conn:
        found = products_since(conn, last_id, sync_scope.configured_counties)
    if not found:
        return dg.SkipReason(f"no products created since id {last_id}")
    newest = found[-1].id
    wanted = [product.code for product in found if product.needs_stock or product.needs_images]
    if not wanted:
        return dg.SensorResult(
            skip_reason=f"{len(found)} new product(s) up to id {newest} already have stock and images",
            cursor=str(newest),
        )
    requests = [
        dg.RunRequest(
            run_key=f"new-products:{last_id}-{newest}:{index}", run_config=scope_config(batch),
            tags={TRIGGER_TAG: "new_products", "haier/new_product_count": str(len(batch))},
        )
        for index, batch in enumerate(chunked(wanted, CODES_PER_RUN))
    ]
    context.log.info(f"{len(wanted)} of {len(found)} new product(s) need stock or images: "
                     f"{len(requests)} run(s) requested")
    return dg.SensorResult(run_requests=requests, cursor=str(newest))
