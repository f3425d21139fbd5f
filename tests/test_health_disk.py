"""A media volume low on space: the images step stops before writing, the sync log says why, an alert goes out.

Runs on a real 2 MiB tmpfs (skipped where mounting is not permitted) against the sandbox's images.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.definitions import build_definitions
from haier_pipeline.media.space import DiskSpaceLow, free_bytes
from haier_pipeline.media.store import MediaStore
from haier_pipeline.sandbox import SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.pipeline import pipeline_env, project_env
from support.small_volume import small_volume
from support.webhook_receiver import webhook_receiver

ONE_COUNTY = {"resources": {"sync_scope": {"config": {"county_codes": ["110101"]}}}}
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def full_sync(env: dict[str, str], instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    with project_env(env):
        job = build_definitions(load_settings()).resolve_job_def("haier_full_sync")
        return job.execute_in_process(instance=instance, run_config=ONE_COUNTY, raise_on_error=False)


def log_rows(catalog_url: str, run_id: str) -> dict[str, dict]:
    from haier_pipeline.catalog.engine import prepare_database

    log = tables.haier_sync_log
    with prepare_database(catalog_url).connect() as conn:
        rows = conn.execute(select(log).where(log.c.run_id == run_id)).mappings()
        return {row["sync_type"]: dict(row) for row in rows}


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_full_media_volume_stops_the_images_step_cleanly_and_alerts(tmp_path, catalog_url):
    # 100 products: the sandbox's few malformed listing records stay under the 5 % the blocking checks allow.
    with small_volume(tmp_path / "volume", size="8m") as volume, \
            run_sandbox(SandboxOptions(products=100)) as sandbox, \
            webhook_receiver() as hook, dg.DagsterInstance.ephemeral() as instance:
        media = volume / "media"
        (volume / "ballast").write_bytes(b"\0" * (1024 * 1024))  # something else already uses half the volume
        minimum = free_bytes(volume) + 1  # already under the line before the first image
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_MEDIA_ROOT=str(media),
                           HAIER_ALERT_WEBHOOK_URL=hook.url,
                           HAIER_IMAGE_ALLOW_PRIVATE_HOSTS="true", HAIER_MEDIA_MIN_FREE_BYTES=str(minimum))
        result = full_sync(env, instance)

        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        error = failure.step_failure_data.error
        assert failure.step_key == "image_files" and "media volume low on space" in str(error), error
        rows = log_rows(catalog_url, result.run_id)
        statuses = {kind: row["status"] for kind, row in rows.items()}
        assert statuses == {"products": statuses["products"], "prices": "success", "stock": "success",
                            "images": "failed"}
        assert statuses["products"] in ("success", "partial")  # the sandbox's listing holds malformed records
        assert "media volume low on space" in rows["images"]["message"]
        assert "HAIER_MEDIA_MIN_FREE_BYTES" in rows["images"]["message"]
        assert rows["images"]["duration_seconds"] is not None
        assert not media.exists() or files_under(media) == []  # nothing written, not even a temporary file
        [alert] = hook.of_kind("disk_space_low")
        assert alert["run_id"] == result.run_id and alert["details"]["min_free_bytes"] == minimum
        assert alert["details"]["free_bytes"] < minimum
        release_database(catalog_url)

        (volume / "ballast").unlink()  # room again: the next run writes the images
        env["HAIER_MEDIA_MIN_FREE_BYTES"] = str(256 * 1024)
        again = full_sync(env, instance)
        assert again.success, [e.message for e in again.all_events if e.is_failure]
        assert log_rows(catalog_url, again.run_id)["images"]["status"] in ("success", "partial")
        assert files_under(media) and not [f for f in files_under(media) if f.endswith(".part")]
        release_database(catalog_url)


def test_a_write_that_would_cross_the_line_is_refused_and_leaves_no_file(tmp_path):
    with small_volume(tmp_path / "volume") as volume:
        free = free_bytes(volume)
        store = MediaStore(volume, min_free_bytes=free - 600 * 1024)
        small = store.write(b"\x89PNG" + os.urandom(100 * 1024), "png", NOW)
        with pytest.raises(DiskSpaceLow, match="HAIER_MEDIA_MIN_FREE_BYTES") as refused:
            store.write(os.urandom(700 * 1024), "png", NOW)
        assert refused.value.needed == 700 * 1024 and refused.value.free < refused.value.needed + store.min_free_bytes
        assert files_under(volume) == [small]
