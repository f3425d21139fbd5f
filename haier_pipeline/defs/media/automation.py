"""The media cleanup job (a dry run unless told otherwise)."""

from __future__ import annotations

import dagster as dg

from .assets import media_cleanup

media_cleanup_job = dg.define_asset_job(
    "media_cleanup_job", selection=[media_cleanup], executor_def=dg.in_process_executor,
    description="Report (dry run, the default) or delete images no product references any more.",
)
