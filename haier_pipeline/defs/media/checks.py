"""Checks on the stored images: every listed path has its row and file, every file its sha256 (blocking)."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.tables import media_images
from haier_pipeline.defs.metadata import markdown_list
from haier_pipeline.media.cleanup import referenced_paths
from haier_pipeline.media.verify import verify_image_files
from haier_pipeline.resources import CatalogResource, MediaResource

from .assets import product_images

SHOWN = 10


@dg.asset_check(asset=product_images, description="Every image path a product lists has its media_images row and file.")
def product_images_exist(catalog: CatalogResource, media: MediaResource) -> dg.AssetCheckResult:
    store = media.store()
    with catalog.begin() as conn:
        referenced = referenced_paths(conn)
        recorded = set(conn.execute(select(media_images.c.file)).scalars())
    no_row = sorted(p for p in referenced if p not in recorded)
    no_file = sorted(p for p in referenced if not store.exists(p))
    return dg.AssetCheckResult(
        passed=not no_row and not no_file,
        metadata={"referenced": len(referenced), "without_row": len(no_row), "without_file": len(no_file),
                  "examples": markdown_list([*no_row, *no_file])},
    )


@dg.asset_check(
    asset=product_images, name="image_files_match_sha256", blocking=True,
    description="Every media_images row has its file under HAIER_MEDIA_ROOT, with the stored size and sha256.",
)
def image_files_check(catalog: CatalogResource, media: MediaResource) -> dg.AssetCheckResult:
    with catalog.begin() as conn:
        total = conn.execute(select(func.count()).select_from(tables.media_images)).scalar_one()
        report = verify_image_files(conn, media.root)
    problems = report.problems
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "images_checked": total,
            "files_missing": report.missing,
            "files_mismatched": report.mismatched,
            "bytes_hashed": report.bytes_hashed,
            "problems": markdown_list(problems, SHOWN),
        },
    )
