"""Cleanup reports images no product references (dry run by default) and deletes only those, rows before files."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select, update
from test_media_support import Catalog, ImageHost, add_products, catalog_engine, image_host, make_image  # noqa: F401

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.locks import ACQUIRE_WAIT
from haier_pipeline.media.cleanup import apply_cleanup, delete_unused, plan_cleanup
from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import MediaStore
from haier_pipeline.media.urls import UrlPolicy

OPTIONS = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(), rate_per_host=1000, concurrency=2)
NOW = datetime.now(UTC)


def setup_media(host: ImageHost, engine: Engine, root: Path) -> MediaStore:
    add_products(
        engine,
        [
            (
                "KEEP",
                host.add("/keep.png", make_image("PNG", (10, 10))),
                [host.add("/keep2.jpg", make_image("JPEG", (11, 11)))],
            ),
            ("DROP", host.add("/drop.png", make_image("PNG", (12, 12))), []),
        ],
    )
    store = MediaStore(root)
    localise_images(Catalog(engine), store, OPTIONS)
    with engine.begin() as conn:  # the product moves on: its image is no longer referenced
        conn.execute(update(tables.products).where(tables.products.c.product_code == "DROP").values(main_images=[]))
    return store


def file_of(engine: Engine, url_suffix: str) -> str:
    with engine.connect() as conn:
        return conn.execute(select(tables.media_images.c.file)
                            .where(tables.media_images.c.original_url.like(f"%{url_suffix}"))).scalar_one()


def age(path: Path, hours: float) -> None:
    stamp = (NOW - timedelta(hours=hours)).timestamp()
    os.utime(path, (stamp, stamp))


def test_dry_run_reports_and_deletes_nothing(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    store = setup_media(image_host, catalog_engine, tmp_path)
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    plan = plan_cleanup(Catalog(catalog_engine), store)
    assert [file for _, file in plan.unreferenced_rows] == [file_of(catalog_engine, "/drop.png")]
    assert plan.reclaimable_bytes == (tmp_path / plan.unreferenced_rows[0][1]).stat().st_size
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before


def test_cleanup_deletes_only_what_nothing_references(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    store = setup_media(image_host, catalog_engine, tmp_path)
    keep, keep2, drop = (file_of(catalog_engine, s) for s in ("/keep.png", "/keep2.jpg", "/drop.png"))
    old_orphan = store.write(make_image(), "png", NOW)  # a crash between file and row, long ago
    new_orphan = store.write(make_image(), "png", NOW)  # maybe a pass still running: inside the grace period
    age(tmp_path / old_orphan, 3)
    stale_temp = tmp_path / "images" / ".tmp-abc.part"
    stale_temp.write_bytes(b"half")
    age(stale_temp, 3)
    foreign = tmp_path / "images" / "shop-banner.jpg"  # not a name the store writes: never touched
    foreign.write_bytes(b"banner")
    age(foreign, 3)
    uploaded = store.write(make_image("PNG", (3, 3)), "png", NOW)  # a shop upload: row without original_url
    with catalog_engine.begin() as conn:
        conn.execute(insert(tables.media_images), [
            {"file": uploaded, "original_url": None, "sha256": "0" * 64},
            {"file": "images/2020/01/01/" + "f" * 32 + ".jpg", "original_url": "http://gone/x.jpg", "sha256": "1" * 64},
        ])
    age(tmp_path / uploaded, 3)

    plan = plan_cleanup(Catalog(catalog_engine), store)
    assert ([f for _, f in plan.unreferenced_rows], [f for _, f in plan.dangling_rows]) == (
        [drop], ["images/2020/01/01/" + "f" * 32 + ".jpg"])
    assert (plan.orphan_files, plan.temp_files) == ([old_orphan], ["images/.tmp-abc.part"])

    result = apply_cleanup(Catalog(catalog_engine), store, plan)

    assert (result.rows_deleted, result.files_deleted) == (2, 3)
    with catalog_engine.connect() as conn:
        assert sorted(conn.execute(select(tables.media_images.c.file)).scalars()) == sorted([keep, keep2, uploaded])
    for relative in (keep, keep2, uploaded, new_orphan):
        assert (tmp_path / relative).is_file()
    for relative in (drop, old_orphan):
        assert not (tmp_path / relative).exists()
    assert foreign.exists() and not stale_temp.exists()


def test_a_reference_added_after_the_survey_saves_the_image(image_host: ImageHost, catalog_engine: Engine,
                                                            tmp_path: Path) -> None:
    store = setup_media(image_host, catalog_engine, tmp_path)
    drop = file_of(catalog_engine, "/drop.png")
    plan = plan_cleanup(Catalog(catalog_engine), store)
    with catalog_engine.begin() as conn:  # a sync runs between the survey and the delete
        conn.execute(update(tables.products).where(tables.products.c.product_code == "DROP").values(main_images=[drop]))
    result = apply_cleanup(Catalog(catalog_engine), store, plan)
    assert (result.rows_deleted, result.files_deleted) == (0, 0) and (tmp_path / drop).is_file()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_cleanup_waits_for_a_running_images_pass_then_refuses_and_deletes_nothing(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    import dagster as dg

    from haier_pipeline.catalog.locks import IMAGES_LOCK, sync_lock
    from haier_pipeline.defs.media.assets import media_cleanup
    from haier_pipeline.resources import CatalogResource, MediaResource

    media_root = tmp_path / "media"
    store = setup_media(image_host, catalog_engine, media_root)
    drop = file_of(catalog_engine, "/drop.png")
    before = files_under(media_root)
    with catalog_engine.connect() as conn:
        rows_before = sorted(conn.execute(select(tables.media_images.c.file)).scalars())
    resources = {"catalog": CatalogResource(db_url=catalog_engine.url.render_as_string(hide_password=False)),
                 "media": MediaResource(media_root=str(media_root))}
    run_config = {"ops": {"media_cleanup": {"config": {"dry_run": False}}}}

    with sync_lock(catalog_engine, IMAGES_LOCK, "images-pass-run"):  # an images pass is running
        started = time.monotonic()
        result = dg.materialize([media_cleanup], resources=resources, run_config=run_config, raise_on_error=False)
        waited = time.monotonic() - started
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
        failure = failure.cause or failure  # Dagster wraps the asset's own exception
        assert failure.cls_name == "ImagesPassRunning"
        assert "an images pass (product_images) is running" in failure.message and "images-pass-run" in failure.message
        assert "nothing was deleted" in failure.message
        assert waited >= ACQUIRE_WAIT  # it waited for the pass before giving up
        assert files_under(media_root) == before and (media_root / drop).is_file()
        with catalog_engine.connect() as conn:
            assert sorted(conn.execute(select(tables.media_images.c.file)).scalars()) == rows_before

    plan, deleted = delete_unused(Catalog(catalog_engine), catalog_engine, store, run_id="cleanup-run")
    assert [file for _, file in plan.unreferenced_rows] == [drop]
    assert (deleted.rows_deleted, deleted.files_deleted) == (1, 1) and not (media_root / drop).exists()
