"""Image assets: product images made local (downloaded, validated, stored once) and the cleanup of unused ones.

``image_files`` starts as soon as the listing is stored — the listing carries the image URLs —
and downloads, validates and stores every image while prices and stock are still being fetched
(the image hosts are not the gateway: another budget). ``product_images`` hangs off the
``products`` table and ``image_files``: it reads each Haier product's image URLs, reuses what
``image_files`` stored (no second request), fetches anything still missing, and fills
``products.main_images`` / ``detail_images``. The run has one ``images`` sync-log row: ``image_files``
opens it, ``product_images`` re-opens it and closes it with the pass's final counts. Rejected images are
counted and named (metadata and an ``images`` sync-log row whose failures start with
``images:``); they never fail the run. A media volume under ``HAIER_MEDIA_MIN_FREE_BYTES`` does:
the step stops before writing, alerts, and logs why. ``media_cleanup`` reports images no product
references any more and deletes them only when ``dry_run`` is false. Image limits come from the
``HAIER_IMAGE_*`` settings, through the ``media`` resource.
"""

from datetime import timedelta

import dagster as dg
from pydantic import Field
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.locks import IMAGES_LOCK
from haier_pipeline.catalog.tables import media_images
from haier_pipeline.constants import MEDIA_POOL
from haier_pipeline.defs.metadata import columns_metadata, failures_markdown, markdown_list
from haier_pipeline.media.cleanup import CleanupPlan, delete_unused, plan_cleanup
from haier_pipeline.media.localise import LocaliseReport, localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import MediaStore
from haier_pipeline.media.thumbnails import thumbnails_markdown
from haier_pipeline.resources import AlertResource, CatalogResource, MediaResource, SyncScope
from haier_pipeline.runs.tracking import close_abandoned_logs, tracked_sync

from .space_alert import stop_when_disk_low

MEDIA_GROUP = "media"
MAINTENANCE_GROUP = "media_maintenance"
THUMBNAILS = 4


class ProductImagesConfig(dg.Config):
    """Run options for the images pass."""

    recheck: bool = Field(
        default=False,
        description="Download images already stored again, to pick up changed content (new bytes are stored once).",
    )


class MediaCleanupConfig(dg.Config):
    """Run options for the cleanup; nothing is deleted unless ``dry_run`` is false."""

    dry_run: bool = Field(default=True, description="Only report what would be deleted.")
    grace_minutes: int = Field(default=60, ge=0, description="Leave files without a row alone until this old.")


def images_metadata(report: LocaliseReport, store: MediaStore, options: ImageOptions, stored_total: int,
                    latest: list[str]) -> dict:
    seconds = max(report.seconds, 1e-9)
    reasons = report.rejected_by_reason()
    return {
        "products_seen": report.products_seen,
        "image_urls": report.urls_seen,
        "reused": report.reused,
        "downloaded": report.downloaded,
        "deduplicated": report.deduplicated,
        "rejected": len(report.rejected),
        "rejected_by_reason": dg.MetadataValue.md(
            "\n".join(f"- {reason}: {count}" for reason, count in reasons.items()) or "_none_"
        ),
        "rejections": failures_markdown([r.describe() for r in report.rejected]),
        "kept_after_failed_recheck": report.kept_after_failed_recheck,
        "products_updated": report.product_writes.updated,
        "dangling_rows_removed": report.dangling_rows_removed,
        "http_requests": report.http_requests,
        "bytes_downloaded": report.bytes_downloaded,
        "bytes_written": report.bytes_written,
        "duration_seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        "images_per_second": dg.MetadataValue.float(round(report.fetched / seconds, 2)),
        "megabytes_per_second": dg.MetadataValue.float(round(report.bytes_downloaded / seconds / 1e6, 6)),
        "image_rate_reached": dg.MetadataValue.float(report.rate_reached),
        "image_rate_by_host": dg.MetadataValue.json(report.host_pace),
        "worker_processes": report.worker_processes,
        "image_rate_ceiling": f"{options.rate_per_host:g}/s per host" if options.rate_per_host else "none (adaptive)",
        "loopback_hosts_allowed": options.policy.allow_loopback,
        "private_hosts_allowed": options.policy.allow_private,
        "dagster/row_count": stored_total,
        "thumbnails": dg.MetadataValue.md(thumbnails_markdown(store, [*reversed(report.new_files), *latest])),
    }


@dg.asset(
    metadata=columns_metadata(tables.media_images, tables.media_image_urls, tables.media_rejected_urls),
    group_name=MEDIA_GROUP,
    kinds={"pillow", "sql"},
    pool=MEDIA_POOL,
    deps=[dg.AssetKey("haier_raw_products")],
    description="The image files behind every URL of the latest listing, downloaded as soon as the listing is "
                "stored (alongside prices and stock), validated with Pillow and stored once under the media root.",
)
def image_files(
    context: dg.AssetExecutionContext, config: ProductImagesConfig, catalog: CatalogResource, media: MediaResource,
    sync_scope: SyncScope, alerts: AlertResource,
) -> dg.MaterializeResult:
    return _images_pass(context, config, catalog, media, sync_scope, alerts, from_listing=True)


@dg.asset(
    metadata=columns_metadata(tables.media_images, tables.media_image_urls, tables.media_rejected_urls),
    group_name=MEDIA_GROUP,
    kinds={"pillow", "sql"},
    pool=MEDIA_POOL,
    deps=[dg.AssetKey("products"), image_files],
    description="Every Haier product's main and page images, validated with Pillow and stored once under the "
                "media root.",
)
def product_images(
    context: dg.AssetExecutionContext, config: ProductImagesConfig, catalog: CatalogResource, media: MediaResource,
    sync_scope: SyncScope,
    alerts: AlertResource,
) -> dg.MaterializeResult:
    return _images_pass(context, config, catalog, media, sync_scope, alerts, from_listing=False)


def _images_pass(context: dg.AssetExecutionContext, config: ProductImagesConfig, catalog: CatalogResource,
                 media: MediaResource, sync_scope: SyncScope, alerts: AlertResource,
                 from_listing: bool) -> dg.MaterializeResult:
    """One images pass under the images lock, in the run's ``images`` sync-log row."""
    close_abandoned_logs(context, catalog)
    options = media.images
    store = media.store(min_free_bytes=media.min_free_bytes)
    if options.policy.allow_loopback or options.policy.allow_private:
        context.log.info("image URLs on loopback addresses are allowed (sandbox, or HAIER_IMAGE_ALLOW_PRIVATE_HOSTS)")
    with (tracked_sync(catalog, IMAGES_LOCK, context.run_id, context.log) as tracker,
          stop_when_disk_low(context, alerts)):
        store.ensure_room(0)
        recheck = config.recheck and (from_listing or not _rechecked_earlier_in_run(context))
        report = localise_images(catalog, store, options, product_codes=sync_scope.codes or None,
                                 recheck=recheck, from_listing=from_listing, run_id=context.run_id)
        tracker.succeeded(report.reused + report.fetched + report.kept_after_failed_recheck)
        for rejection in report.rejected:
            tracker.failed(rejection.describe())
    if report.rejected:
        context.log.warning(f"{len(report.rejected)} image(s) rejected: {report.rejected_by_reason()}")
    return dg.MaterializeResult(
        metadata={**images_metadata(report, store, options, *_stored_summary(catalog)), "sync_status": tracker.status,
                  "rechecked": recheck}
    )


def _rechecked_earlier_in_run(context: dg.AssetExecutionContext) -> bool:
    """Whether ``image_files`` already downloaded every URL again in this run (then linking need not)."""
    event = context.instance.get_latest_materialization_event(image_files.key)
    if event is None or event.run_id != context.run_id or event.asset_materialization is None:
        return False
    rechecked = event.asset_materialization.metadata.get("rechecked")
    return bool(getattr(rechecked, "value", False))


def _stored_summary(catalog: CatalogResource) -> tuple[int, list[str]]:
    """How many images are stored, and the newest few files (the thumbnails)."""
    with catalog.begin() as conn:
        stored_total = conn.execute(select(func.count()).select_from(media_images)).scalar_one()
        newest = select(media_images.c.file).order_by(media_images.c.id.desc()).limit(THUMBNAILS)
        return stored_total, list(conn.execute(newest).scalars())


def cleanup_metadata(plan: CleanupPlan, dry_run: bool) -> dict:
    return {
        "dry_run": dry_run,
        "unreferenced_rows": len(plan.unreferenced_rows),
        "dangling_rows": len(plan.dangling_rows),
        "orphan_files": len(plan.orphan_files),
        "temp_files": len(plan.temp_files),
        "referenced_but_missing": len(plan.missing_referenced),
        "reclaimable_bytes": plan.reclaimable_bytes,
        "candidates": markdown_list(
            [f for _, f in plan.unreferenced_rows]
            + [f for _, f in plan.dangling_rows]
            + plan.orphan_files
            + plan.temp_files
        ),
    }


@dg.asset(
    group_name=MAINTENANCE_GROUP, kinds={"pillow", "sql"}, pool=MEDIA_POOL, deps=[product_images],
    description="Images no product references any more: reported, and deleted only when dry_run is false.",
)
def media_cleanup(
    context: dg.AssetExecutionContext, config: MediaCleanupConfig, catalog: CatalogResource, media: MediaResource
) -> dg.MaterializeResult:
    store = media.store()
    grace = timedelta(minutes=config.grace_minutes)
    if config.dry_run:
        plan = plan_cleanup(catalog, store, grace=grace)
        context.log.info(f"dry run: {plan.candidates} candidate(s), {plan.reclaimable_bytes} bytes; nothing deleted")
        return dg.MaterializeResult(
            metadata={**cleanup_metadata(plan, True), "rows_deleted": 0, "files_deleted": 0, "bytes_freed": 0}
        )
    # Under the images lock: an images pass running now could be about to reuse a file the survey calls unused.
    plan, result = delete_unused(catalog, catalog.engine(), store, run_id=context.run_id, grace=grace)
    metadata = cleanup_metadata(plan, False)
    context.log.info(f"deleted {result.rows_deleted} row(s) and {result.files_deleted} file(s)")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "rows_deleted": result.rows_deleted,
            "files_deleted": result.files_deleted,
            "bytes_freed": result.bytes_freed,
        }
    )
