"""The ``product_images`` and ``media_cleanup`` assets under ``dg.materialize``: metadata, sync log, checks, cleanup."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, select, update
from test_media_support import ImageHost, add_products, catalog_engine, image_host, make_image  # noqa: F401

from haier_pipeline.catalog import tables
from haier_pipeline.defs.media.assets import media_cleanup, product_images
from haier_pipeline.defs.media.automation import media_cleanup_job
from haier_pipeline.defs.media.checks import image_files_check, product_images_exist
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.resources import AlertResource, CatalogResource, MediaResource, SyncScope
from haier_pipeline.settings import load_settings


@pytest.fixture(autouse=True)
def sandbox_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HAIER_BASE_URL", "HAIER_IMAGE_ALLOW_PRIVATE_HOSTS", "HAIER_IMAGE_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HAIER_IMAGE_RATE_LIMIT", "1000")


def resources(engine: Engine, root: Path, codes: list[str] | None = None) -> dict:
    return {
        "catalog": CatalogResource(db_url=engine.url.render_as_string(hide_password=False)),
        "media": MediaResource(media_root=str(root), images=ImageOptions.from_settings(load_settings())),
        "sync_scope": SyncScope(product_codes=codes or []),
        "alerts": AlertResource(),
    }


def metadata_of(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_product_images_materializes_with_counts_reasons_thumbnails_and_a_sync_log(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    good = [image_host.add(f"/g{n}.png", make_image("PNG", (30 + n, 20))) for n in range(3)]
    html = image_host.add("/bad.jpg", b"<html>oops</html>")
    add_products(catalog_engine, [("P1", good[0], [good[1], html]), ("P2", good[2], ["file:///etc/passwd"])])
    root = tmp_path / "media"

    result = dg.materialize(
        [product_images, product_images_exist, image_files_check],
        resources=resources(catalog_engine, root),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    meta = metadata_of(result, "product_images")
    assert (meta["downloaded"], meta["reused"], meta["rejected"], meta["dagster/row_count"]) == (3, 0, 2, 3)
    assert "not_an_image: 1" in meta["rejected_by_reason"] and "blocked_url: 1" in meta["rejected_by_reason"]
    assert "/bad.jpg" in meta["rejections"] and "file:///etc/passwd" in meta["rejections"]
    assert meta["thumbnails"].count("](data:image/jpeg;base64,") == 3
    assert meta["bytes_written"] == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert meta["images_per_second"] > 0 and meta["megabytes_per_second"] > 0 and meta["sync_status"] == "partial"
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"product_images_exist", "image_files_match_sha256"}
    assert all(c.passed for c in checks)
    with catalog_engine.connect() as conn:
        log = conn.execute(select(tables.haier_sync_log)).one()
    assert (log.sync_type, log.status, log.total_count, log.success_count, log.failed_count) == (
        "images",
        "partial",
        5,
        3,
        2,
    )
    assert "images: " in log.message and "/bad.jpg" in log.message and log.run_id == result.run_id

    assert image_host.hits["/bad.jpg"] == 2  # a 200 that is not the image is fetched once more before rejection

    image_host.hits.clear()
    again = dg.materialize([product_images], resources=resources(catalog_engine, root),
                           instance=dg.DagsterInstance.ephemeral())
    meta = metadata_of(again, "product_images")
    # Only the rejected page again, and again twice in its pass (issue 17); the stored images are reused.
    assert (meta["downloaded"], meta["reused"], meta["http_requests"]) == (0, 3, 2)
    assert dict(image_host.hits) == {"/bad.jpg": 2}


def test_sync_scope_limits_the_products(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    add_products(
        catalog_engine, [(f"P{n}", image_host.add(f"/{n}.png", make_image("PNG", (n + 2, 2))), []) for n in range(4)]
    )
    result = dg.materialize([product_images], resources=resources(catalog_engine, tmp_path, ["P2"]),
                            instance=dg.DagsterInstance.ephemeral())
    assert metadata_of(result, "product_images")["products_seen"] == 1 and list(image_host.hits) == ["/2.png"]


def test_loopback_images_are_refused_when_the_project_targets_a_real_gateway(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAIER_IMAGE_ALLOW_PRIVATE_HOSTS", "false")
    add_products(catalog_engine, [("P1", image_host.add("/a.png", make_image()), [])])
    result = dg.materialize([product_images], resources=resources(catalog_engine, tmp_path),
                            instance=dg.DagsterInstance.ephemeral())
    meta = metadata_of(result, "product_images")
    assert result.success and meta["rejected"] == 1 and "blocked_url: 1" in meta["rejected_by_reason"]
    assert image_host.hit_count() == 0


def test_media_cleanup_is_a_dry_run_unless_told_otherwise(image_host: ImageHost, catalog_engine: Engine,
                                                          tmp_path: Path) -> None:
    add_products(catalog_engine, [("P1", image_host.add("/a.png", make_image()), [])])
    res = resources(catalog_engine, tmp_path)
    dg.materialize([product_images], resources=res, instance=dg.DagsterInstance.ephemeral())
    with catalog_engine.begin() as conn:
        conn.execute(update(tables.products).values(main_images=[]))
    (stored,) = [p for p in tmp_path.rglob("*.png")]

    dry = dg.materialize([media_cleanup], resources=res, instance=dg.DagsterInstance.ephemeral())
    meta = metadata_of(dry, "media_cleanup")
    assert (meta["dry_run"], meta["unreferenced_rows"], meta["files_deleted"]) == (True, 1, 0) and stored.exists()

    real = dg.materialize([media_cleanup], resources=res, instance=dg.DagsterInstance.ephemeral(),
                          run_config={"ops": {"media_cleanup": {"config": {"dry_run": False}}}})
    meta = metadata_of(real, "media_cleanup")
    assert (meta["rows_deleted"], meta["files_deleted"]) == (1, 1) and not stored.exists()


def test_definitions_load_with_the_image_assets_checks_and_job(catalog_engine: Engine, tmp_path: Path) -> None:
    from haier_pipeline.defs.sync.catalog import products

    defs = dg.Definitions(
        assets=[products, product_images, media_cleanup],
        asset_checks=[product_images_exist, image_files_check],
        jobs=[media_cleanup_job],
        resources=resources(catalog_engine, tmp_path),
    )
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("products") in graph.get(dg.AssetKey("product_images")).parent_keys
    assert defs.resolve_job_def("media_cleanup_job").asset_layer.executable_asset_keys == {dg.AssetKey("media_cleanup")}
