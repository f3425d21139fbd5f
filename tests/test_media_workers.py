"""Images downloaded in worker processes: every image stored, every rejection named, the limits shared out."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select
from test_media_support import (  # noqa: F401 - fixtures
    Catalog,
    ImageHost,
    add_products,
    catalog_engine,
    image_host,
    make_image,
)

from haier_pipeline.catalog import tables
from haier_pipeline.media import workers
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.rejections import NOT_AN_IMAGE, ImageRejected
from haier_pipeline.media.store import MediaStore, sha256_file
from haier_pipeline.media.urls import UrlPolicy

OPTIONS = ImageOptions(policy=UrlPolicy(allow_loopback=True), rate_per_host=400, concurrency=4, processes=2)


def test_a_rejection_crosses_a_process_boundary_intact() -> None:
    rejection = pickle.loads(pickle.dumps(ImageRejected(NOT_AN_IMAGE, "markup (HTML/XML/SVG), not a raster image")))
    assert (rejection.reason, rejection.detail) == (NOT_AN_IMAGE, "markup (HTML/XML/SVG), not a raster image")


def test_each_worker_gets_its_share_of_the_window_and_of_the_hard_ceiling(tmp_path: Path) -> None:
    fetching = workers.ProcessFetching(ImageOptions(rate_per_host=50, concurrency=5, processes=2),
                                       MediaStore(tmp_path), datetime.now(UTC), 2)
    try:
        assert (fetching.share.concurrency, fetching.share.rate_per_host) == (3, 25)
    finally:
        fetching.close()


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_worker_processes_store_every_image_and_name_every_rejection(
        image_host: ImageHost, catalog_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "PROCESSES_FROM_URLS", 1)  # even this small pass goes to the worker processes
    started: list[workers.ProcessFetching] = []

    class RecordedFetching(workers.ProcessFetching):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(workers, "ProcessFetching", RecordedFetching)
    products, good = [], {}
    for number in range(40):
        main = make_image("PNG", (30 + number, 20))
        page = make_image("JPEG", (20, 30 + number), (0, number * 5, 200))
        good[image_host.add(f"/p{number}/main.png", main)] = main
        good[image_host.add(f"/p{number}/page.jpg", page)] = page
        products.append(
            (f"P{number}", image_host.url(f"/p{number}/main.png"), [image_host.url(f"/p{number}/page.jpg")])
        )
    html = image_host.add("/broken/page.jpg", b"<html>maintenance</html>", headers={"Content-Type": "image/jpeg"})
    missing = image_host.url("/broken/gone.jpg")
    products.append(("BROKEN", html, [missing]))
    add_products(catalog_engine, products)
    store = MediaStore(tmp_path / "media")

    report = localise_images(Catalog(catalog_engine), store, OPTIONS)

    assert report.downloaded == len(good) == 80 and report.reused == 0
    assert sorted((r.url, r.reason) for r in report.rejected) == sorted(
        [(html, "not_an_image"), (missing, "http_error")]
    )
    assert all(r.detail for r in report.rejected)
    with catalog_engine.connect() as conn:
        rows = conn.execute(select(tables.media_images.c.original_url, tables.media_images.c.file,
                                   tables.media_images.c.sha256)).all()
    assert {row.original_url: row.sha256 for row in rows} == {url: hashlib.sha256(data).hexdigest()
                                                              for url, data in good.items()}
    assert all(sha256_file(store.root / row.file) == row.sha256 for row in rows)
    # The workers' counts reach the report: every request the host saw, and its answers.
    assert report.http_requests == image_host.hit_count() == 83  # the HTML page is asked twice
    (pace,) = report.host_pace.values()
    assert pace["answers"] == 83 and 1 <= pace["senders"] <= 2
    # The downloads happened in other processes, not in this one's threads.
    (fetching,) = started
    assert fetching.worker_pids and os.getpid() not in fetching.worker_pids and len(fetching.worker_pids) <= 2
    assert report.worker_processes == len(fetching.worker_pids)
    # Written by the workers, each file once: nothing under the media root that no row names.
    assert sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()) == \
        sorted(row.file for row in rows)


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_identical_bytes_written_by_two_workers_are_stored_once(
        image_host: ImageHost, catalog_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "PROCESSES_FROM_URLS", 1)
    same = make_image("PNG", (33, 44))
    urls = [image_host.add(f"/same/{number}.png", same) for number in range(30)]
    add_products(catalog_engine, [(f"S{number}", url, []) for number, url in enumerate(urls)])
    store = MediaStore(tmp_path / "media")

    report = localise_images(Catalog(catalog_engine), store, OPTIONS)

    assert (report.downloaded, report.deduplicated) == (1, 29)
    with catalog_engine.connect() as conn:
        (row,) = conn.execute(select(tables.media_images.c.original_url, tables.media_images.c.file)).all()
    assert row.original_url == urls[0]  # listing order names the row, whichever download finished first
    assert [p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()] == [row.file]


def test_a_few_urls_stay_in_threads(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(workers.ProcessFetching, "__init__", lambda *args: started.append(os.getpid()))
    add_products(catalog_engine, [("P1", image_host.add("/one.png", make_image()), [])])
    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path / "media"), OPTIONS)
    assert report.downloaded == 1 and started == [] and report.worker_processes == 0


def test_the_listing_source_keeps_the_run_scope_and_leaves_out_records_that_do_not_parse(
        catalog_engine: Engine) -> None:
    from haier_pipeline.catalog.raw_store import store_raw_products
    from haier_pipeline.media.records import listing_product_pages

    def payload(code: str, main: str, pages: list[str]) -> dict:
        return {"productCode": code, "productModel": "M", "productGroupNamd": "G", "productBrandName": "B",
                "productImageUrl": main, "productLageUrls": pages, "isSales": "1"}

    with catalog_engine.begin() as conn:
        store_raw_products(conn, [("A1", payload("A1", "http://h/a1.jpg", ["http://h/a1-1.jpg", "http://h/a1-1.jpg"])),
                                  ("B2", payload("B2", "http://h/b2.jpg", [])),
                                  ("C3", {"productCode": "C3", "productImageUrl": 12})], None, datetime.now(UTC))

    every = [p for page in listing_product_pages(Catalog(catalog_engine).begin, None, 1) for p in page]
    scoped = [p for page in listing_product_pages(Catalog(catalog_engine).begin, ["B2", "ZZ"], 10) for p in page]

    assert [(p.product_code, p.main_urls, p.page_urls) for p in every] == [
        ("A1", ("http://h/a1.jpg",), ("http://h/a1-1.jpg",)), ("B2", ("http://h/b2.jpg",), ())]  # C3 does not parse
    assert [p.product_code for p in scoped] == ["B2"]


def test_the_listing_source_hands_on_a_chunk_before_reading_the_rest_of_the_listing(catalog_engine: Engine) -> None:
    from haier_pipeline.catalog.raw_store import store_raw_products
    from haier_pipeline.media.records import listing_product_pages

    codes = [f"P{number}" for number in range(5)]
    with catalog_engine.begin() as conn:
        store_raw_products(conn, [(code, {"productCode": code, "productModel": "M", "productGroupNamd": "G",
                                          "productBrandName": "B", "productImageUrl": f"http://h/{code}.jpg",
                                          "productLageUrls": [], "isSales": "1"}) for code in codes],
                           None, datetime.now(UTC))
    events: list[str] = []

    @contextmanager
    def reading() -> Iterator[Connection]:
        events.append("read")
        with catalog_engine.begin() as conn:
            yield conn

    pages = []
    for page in listing_product_pages(reading, None, 2):
        events.append("chunk")
        pages.append([p.product_code for p in page])
    assert pages == [codes[0:2], codes[2:4], codes[4:]]
    # Each chunk goes on as soon as it is read: the whole listing is never held, nor one connection throughout.
    assert events == ["read", "chunk", "read", "chunk", "read", "chunk"]
