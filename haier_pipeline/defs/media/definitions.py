"""The media domain: product images, their cleanup, the image checks and the cleanup job."""

from __future__ import annotations

import dagster as dg

from .assets import image_files, media_cleanup, product_images
from .automation import media_cleanup_job
from .checks import image_files_check, product_images_exist


def media_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[image_files, product_images, media_cleanup], asset_checks=[product_images_exist, image_files_check],
        jobs=[media_cleanup_job],
    )
