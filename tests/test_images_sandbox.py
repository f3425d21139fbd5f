"""Must-show against the sandbox over real HTTP: every good image stored exactly once and true to the sandbox's
ground truth; every broken one (not an image, 404, bomb, truncated, oversized) absent, counted and named; a second
run requests no good image again."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, select
from test_media_support import load_sandbox_products

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.defs.media.assets import image_files, product_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.rejections import display_url
from haier_pipeline.media.store import RELATIVE_PATH
from haier_pipeline.media.validate import FORMATS
from haier_pipeline.media.workers import RETRIED_ONCE
from haier_pipeline.resources import AlertResource, CatalogResource, MediaResource, SyncScope
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from haier_pipeline.settings import load_settings
from support.catalog_db import migrated_catalog_url_for_tests

# Seed 6 with 80 products holds every broken kind the sandbox makes (checked below, not assumed).
SANDBOX = SandboxOptions(products=80, seed=6)
REASON_OF_KIND = {"missing": "http_error", "not_image": "not_an_image", "bomb": "decompression_bomb",
                  "truncated": "truncated", "oversized": "oversized"}


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SANDBOX) as running:
        yield running


@pytest.fixture
def loaded_catalog(sandbox: RunningSandbox, tmp_path: Path, request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A catalog holding the sandbox's products (written by the catalog layer's own writers)."""
    monkeypatch.delenv("HAIER_BASE_URL", raising=False)  # the project targets its sandbox: loopback images allowed
    monkeypatch.delenv("HAIER_IMAGE_ALLOW_PRIVATE_HOSTS", raising=False)
    monkeypatch.setenv("HAIER_IMAGE_RATE_LIMIT", "1000")
    engine = prepare_database(migrated_catalog_url_for_tests(tmp_path, request))
    load_sandbox_products(engine, sandbox.catalogue)
    return engine


def materialize(engine: Engine, root: Path) -> dict:
    result = dg.materialize(
        [product_images],
        resources={"catalog": CatalogResource(db_url=engine.url.render_as_string(hide_password=False)),
                   "media": MediaResource(media_root=str(root), images=ImageOptions.from_settings(load_settings())),
                   "sync_scope": SyncScope(), "alerts": AlertResource()},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {key: value.value for key, value in event.materialization.metadata.items()}


def snapshot(engine: Engine) -> tuple[list, list]:
    with engine.connect() as conn:
        rows = conn.execute(select(tables.media_images).order_by(tables.media_images.c.id)).all()
        lists = conn.execute(select(tables.products.c.product_code, tables.products.c.main_images,
                                    tables.products.c.detail_images).order_by(tables.products.c.product_code)).all()
    return rows, lists


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_sandbox_images_are_stored_once_true_to_the_ground_truth_and_broken_ones_named(
    sandbox: RunningSandbox, loaded_catalog: Engine, tmp_path: Path
) -> None:
    truth = sandbox.catalogue.expected_images()
    good = {url: t for url, t in truth.items() if t.kind == "ok"}
    broken = {url: t for url, t in truth.items() if t.kind != "ok"}
    assert set(Counter(t.kind for t in broken.values())) == set(REASON_OF_KIND)  # every broken kind is exercised
    root = tmp_path / "media"
    sandbox.reset_stats()

    meta = materialize(loaded_catalog, root)

    # Each URL requested once; a 200 that is not the image (an HTML page, a cut-off body) once more in the same pass.
    retried = [url for url, t in broken.items() if REASON_OF_KIND[t.kind] in RETRIED_ONCE]
    assert retried and sandbox.stats().image_requests == len(truth) + len(retried)
    rows, lists = snapshot(loaded_catalog)
    by_url = {row.original_url: row for row in rows}
    assert set(by_url) == set(good) and len(rows) == len(good)  # every good image, and nothing broken
    assert len({row.file for row in rows}) == len({row.sha256 for row in rows}) == len(rows)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(
        by_url[u].file for u in good
    )
    for url, expected in good.items():
        row = by_url[url]
        data = (root / row.file).read_bytes()
        assert RELATIVE_PATH.match(row.file) and row.file.endswith("." + FORMATS[expected.format][0])
        assert row.sha256 == expected.sha256 == hashlib.sha256(data).hexdigest()
        assert (row.width, row.height, row.size) == (expected.width, expected.height, len(data))
        assert row.content_type == FORMATS[expected.format][1]

    products = sandbox.catalogue.expected_products()
    for code, main, detail in lists:
        record = products[code]
        assert main == [by_url[u].file for u in [record.image_url] if u in good]
        assert detail == [by_url[u].file for u in record.page_urls if u in good]

    assert (meta["downloaded"], meta["reused"], meta["rejected"]) == (len(good), 0, len(broken))
    expected_reasons = Counter(REASON_OF_KIND[t.kind] for t in broken.values())
    for reason, count in expected_reasons.items():
        assert f"- {reason}: {count}" in meta["rejected_by_reason"]
    with loaded_catalog.connect() as conn:
        log = conn.execute(select(tables.haier_sync_log)).one()
    assert (log.sync_type, log.status, log.failed_count, log.success_count) == (
        "images",
        "partial",
        len(broken),
        len(good),
    )
    for url, t in broken.items():
        named = f"images: {display_url(url)}: {REASON_OF_KIND[t.kind]} ("
        assert named in log.message and named in meta["rejections"], named


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_a_second_run_requests_no_good_image_and_changes_nothing(
    sandbox: RunningSandbox, loaded_catalog: Engine, tmp_path: Path
) -> None:
    truth = sandbox.catalogue.expected_images()
    broken = [url for url, t in truth.items() if t.kind != "ok"]
    root = tmp_path / "media"
    materialize(loaded_catalog, root)
    before = snapshot(loaded_catalog), sorted(root.rglob("*"))
    sandbox.reset_stats()

    meta = materialize(loaded_catalog, root)

    retried = [url for url, t in truth.items() if t.kind != "ok" and REASON_OF_KIND[t.kind] in RETRIED_ONCE]
    assert sandbox.stats().image_requests == len(broken) + len(retried)  # only the rejected ones are tried again
    assert (meta["downloaded"], meta["deduplicated"], meta["bytes_written"]) == (0, 0, 0)
    assert meta["reused"] == len(truth) - len(broken) and meta["products_updated"] == 0
    assert (snapshot(loaded_catalog), sorted(root.rglob("*"))) == before


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_the_full_chain_from_the_gateway_to_local_images(sandbox: RunningSandbox, tmp_path: Path,
                                                         request: pytest.FixtureRequest,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Raw listing -> image_files (from the listing) and products -> product_images, as ``haier_full_sync`` runs them.

    ``image_files`` downloads everything from the listing; ``product_images`` then links the rows to
    the stored files without asking the host anything (the run's rejections are remembered).
    """
    from haier_pipeline.defs.media.checks import image_files_check, product_images_exist
    from haier_pipeline.defs.sync import catalog as catalog_assets
    from haier_pipeline.defs.sync import raw as raw_assets
    from haier_pipeline.resources import HaierApiResource

    monkeypatch.delenv("HAIER_BASE_URL", raising=False)
    monkeypatch.delenv("HAIER_IMAGE_ALLOW_PRIVATE_HOSTS", raising=False)
    monkeypatch.setenv("HAIER_IMAGE_RATE_LIMIT", "1000")
    api = HaierApiResource(settings=load_settings(sandbox.env()))
    engine = prepare_database(migrated_catalog_url_for_tests(tmp_path, request))
    chain = [raw_assets.haier_raw_products, raw_assets.haier_raw_prices, catalog_assets.brands,
             catalog_assets.categories, catalog_assets.products, image_files, product_images]
    resources = {
        "haier_api": api, "catalog": CatalogResource(db_url=engine.url.render_as_string(hide_password=False)),
        "media": MediaResource(media_root=str(tmp_path / "media"), images=ImageOptions.from_settings(load_settings())),
        "sync_scope": SyncScope(), "alerts": AlertResource(),
    }
    result = dg.materialize([*chain, product_images_exist, image_files_check], resources=resources,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    truth = sandbox.catalogue.expected_images()
    rows, _ = snapshot(engine)
    assert {row.original_url: row.sha256 for row in rows} == {u: t.sha256 for u, t in truth.items() if t.kind == "ok"}
    good = sum(1 for t in truth.values() if t.kind == "ok")
    files = result.asset_materializations_for_node("image_files")[0].metadata
    linked = result.asset_materializations_for_node("product_images")[0].metadata
    assert (files["downloaded"].value, files["products_updated"].value) == (good, 0)  # no product row touched yet
    assert (linked["reused"].value, linked["downloaded"].value, linked["http_requests"].value) == (good, 0, 0)
    assert linked["rejected"].value == files["rejected"].value == len(truth) - good

    # Asked to recheck, the run downloads every stored image once more in image_files, not twice.
    again = dg.materialize(
        chain, resources=resources, instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {name: {"config": {"recheck": True}} for name in ("image_files", "product_images")}},
    )
    assert again.success
    files = again.asset_materializations_for_node("image_files")[0].metadata
    linked = again.asset_materializations_for_node("product_images")[0].metadata
    assert files["http_requests"].value >= good and files["reused"].value == 0
    assert (linked["http_requests"].value, linked["downloaded"].value, linked["reused"].value) == (0, 0, good)
