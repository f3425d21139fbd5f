"""The images pass over a real HTTP host: stored once, recorded with true facts, never fetched twice, crash-safe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from test_media_support import (  # noqa: F401 - fixtures
    Catalog,
    ImageHost,
    Route,
    add_products,
    catalog_engine,
    image_host,
    make_image,
)

from haier_pipeline.catalog import tables
from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import RELATIVE_PATH, MediaStore, sha256_file
from haier_pipeline.media.urls import UrlPolicy

OPTIONS = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(max_bytes=200_000), rate_per_host=500,
                       concurrency=4)


def media_rows(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(tables.media_images).order_by(tables.media_images.c.id)).all()


def product_lists(engine: Engine) -> dict[str, tuple[list[str], list[str]]]:
    with engine.connect() as conn:
        rows = conn.execute(select(tables.products.c.product_code, tables.products.c.main_images,
                                   tables.products.c.detail_images)).all()
    return {row.product_code: (row.main_images, row.detail_images) for row in rows}


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_images_are_stored_once_recorded_truthfully_and_listed_in_order(image_host: ImageHost, catalog_engine: Engine,
                                                                         tmp_path: Path) -> None:
    red, green, blue = (
        make_image("PNG", (40, 30)),
        make_image("JPEG", (64, 48), (0, 200, 0)),
        make_image("WEBP", (20, 90)),
    )
    u_red = image_host.add("/p1/main.jpg", red)  # a PNG behind a .jpg name: stored as .png
    u_green = image_host.add("/p1/page1.png", green, headers={"Content-Type": "image/png"})
    u_blue = image_host.add("/p1/page2.webp", blue)
    u_red_again = image_host.add("/p2/main.png", red)  # the same bytes under another URL
    u_html = image_host.add("/p2/page1.jpg", b"<html>maintenance</html>", headers={"Content-Type": "image/jpeg"})
    u_missing = image_host.url("/p2/page2.jpg")
    add_products(catalog_engine, [("P1", u_red, [u_green, u_blue]), ("P2", u_red_again, [u_html, u_missing, u_blue])])
    store = MediaStore(tmp_path / "media")

    report = localise_images(Catalog(catalog_engine), store, OPTIONS)

    assert (report.downloaded, report.deduplicated, report.reused) == (3, 1, 0)
    assert sorted((r.url, r.reason) for r in report.rejected) == sorted(
        [(u_html, "not_an_image"), (u_missing, "http_error")]
    )
    rows = media_rows(catalog_engine)
    assert len(rows) == 3 and len({row.sha256 for row in rows}) == 3
    assert files_under(store.root) == sorted(row.file for row in rows)  # every file has its row, nothing else on disk
    by_url = {row.original_url: row for row in rows}
    for url, data, size in ((u_red, red, (40, 30)), (u_green, green, (64, 48)), (u_blue, blue, (20, 90))):
        row = by_url[url]
        assert RELATIVE_PATH.match(row.file)
        assert row.sha256 == hashlib.sha256(data).hexdigest() == sha256_file(store.root / row.file)
        assert (row.width, row.height, row.size) == (*size, len(data))
    assert by_url[u_red].file.endswith(".png") and by_url[u_red].content_type == "image/png"
    lists = product_lists(catalog_engine)
    assert lists["P1"] == ([by_url[u_red].file], [by_url[u_green].file, by_url[u_blue].file])
    assert lists["P2"] == ([by_url[u_red].file], [by_url[u_blue].file])  # rejected pages left out, order kept
    # Each distinct URL fetched once, the shared page included; the HTML page under 200 once more before rejection.
    assert image_host.hit_count() == 7 and image_host.hits["/p2/page1.jpg"] == 2


def test_a_second_pass_fetches_nothing_already_stored(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    urls = [image_host.add(f"/img/{n}.png", make_image("PNG", (10 + n, 10))) for n in range(12)]
    broken = image_host.add("/img/broken.png", make_image("PNG")[:30])
    add_products(catalog_engine, [(f"P{n}", urls[n], [urls[(n + 1) % 12], broken]) for n in range(12)])
    store = MediaStore(tmp_path)
    first = localise_images(Catalog(catalog_engine), store, OPTIONS)
    assert (first.downloaded, len(first.rejected)) == (12, 1)
    before = (media_rows(catalog_engine), product_lists(catalog_engine), files_under(tmp_path))
    image_host.hits.clear()

    second = localise_images(Catalog(catalog_engine), store, OPTIONS)

    assert (second.downloaded, second.deduplicated, second.reused, second.bytes_written) == (0, 0, 12, 0)
    assert second.product_writes.updated == 0
    assert dict(image_host.hits) == {"/img/broken.png": 2}  # only the rejected image is tried again (twice: cut off)
    assert (media_rows(catalog_engine), product_lists(catalog_engine), files_under(tmp_path)) == before


def test_identical_bytes_behind_a_second_url_are_not_downloaded_on_the_next_pass(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    red = make_image("PNG", (40, 30))
    first_url, second_url = image_host.add("/a/main.png", red), image_host.add("/b/main.png", red)
    add_products(catalog_engine, [("P1", first_url, []), ("P2", second_url, [])])
    store = MediaStore(tmp_path)
    first = localise_images(Catalog(catalog_engine), store, OPTIONS)
    assert (first.downloaded, first.deduplicated) == (1, 1)
    with catalog_engine.connect() as conn:
        mapped = conn.execute(select(tables.media_image_urls.c.url, tables.media_image_urls.c.media_image_id)).all()
    (row,) = media_rows(catalog_engine)
    assert sorted(mapped) == sorted([(first_url, row.id), (second_url, row.id)])  # both URLs -> the one stored image
    image_host.hits.clear()

    second = localise_images(Catalog(catalog_engine), store, OPTIONS)

    assert (second.downloaded, second.deduplicated, second.reused) == (0, 0, 2)
    assert image_host.hit_count() == 0  # neither URL asked again
    assert product_lists(catalog_engine) == {"P1": ([row.file], []), "P2": ([row.file], [])}


def test_a_recorded_image_whose_file_vanished_is_fetched_again_and_its_row_replaced(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    url = image_host.add("/a.gif", make_image("GIF"))
    add_products(catalog_engine, [("P1", url, [])])
    store = MediaStore(tmp_path)
    localise_images(Catalog(catalog_engine), store, OPTIONS)
    (old,) = media_rows(catalog_engine)
    (tmp_path / old.file).unlink()

    report = localise_images(Catalog(catalog_engine), store, OPTIONS)

    (new,) = media_rows(catalog_engine)
    assert (report.downloaded, report.dangling_rows_removed) == (1, 1)
    assert new.file != old.file and (tmp_path / new.file).is_file() and new.sha256 == old.sha256
    assert product_lists(catalog_engine)["P1"] == ([new.file], [])


def test_recheck_downloads_again_and_stores_changed_content_only(image_host: ImageHost, catalog_engine: Engine,
                                                                 tmp_path: Path) -> None:
    same = image_host.add("/same.png", make_image("PNG", (5, 5)))
    changing = image_host.add("/changing.png", make_image("PNG", (6, 6)))
    add_products(catalog_engine, [("P1", same, [changing])])
    store = MediaStore(tmp_path)
    localise_images(Catalog(catalog_engine), store, OPTIONS)
    image_host.add("/changing.png", make_image("PNG", (7, 7)))

    report = localise_images(Catalog(catalog_engine), store, OPTIONS, recheck=True)

    assert image_host.hits["/same.png"] == 2 and (report.downloaded, report.deduplicated) == (1, 1)
    newest = media_rows(catalog_engine)[-1]
    assert newest.original_url == changing and (newest.width, newest.height) == (7, 7)
    assert product_lists(catalog_engine)["P1"][1] == [newest.file]


def test_local_products_are_never_touched(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    url = image_host.add("/local.png", make_image())
    add_products(catalog_engine, [("L1", url, [])], source="local")
    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path), OPTIONS)
    assert (report.products_seen, image_host.hit_count()) == (0, 0)
    assert product_lists(catalog_engine)["L1"] == ([], [])


def test_product_codes_limit_the_pass(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    add_products(
        catalog_engine, [(f"P{n}", image_host.add(f"/{n}.png", make_image("PNG", (n + 1, 3))), []) for n in range(5)]
    )
    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path), OPTIONS, product_codes=["P1", "P3", "NOPE"])
    assert report.products_seen == 2 and sorted(image_host.hits) == ["/1.png", "/3.png"]


@pytest.mark.parametrize("name", [
    "/../../../../etc/passwd.png", "/%2e%2e%2f%2e%2e%2fescape.png", "/..%5c..%5cwin.png", "/a/..;/b.png",
    "/%00nul.png", "/evil.php%00.png", "/images/2025/01/01/0123456789abcdef0123456789abcdef.png",
])
def test_names_in_urls_never_reach_the_stored_path(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path,
                                                   name: str) -> None:
    # whatever the client makes of the name, it gets an image
    image_host.fallback = Route(200, make_image("PNG", (9, 9)))
    url = image_host.url(name)
    add_products(catalog_engine, [("P1", url, [])])
    root = tmp_path / "media"
    localise_images(Catalog(catalog_engine), MediaStore(root), OPTIONS)
    (row,) = media_rows(catalog_engine)
    assert RELATIVE_PATH.match(row.file) and files_under(root) == [row.file]
    assert row.original_url == url and image_host.hit_count() == 1
    assert {p.name for p in tmp_path.iterdir()} <= {
        "catalog.sqlite",
        "catalog.sqlite-shm",
        "catalog.sqlite-wal",
        "media",
    }


def test_a_200_that_is_not_the_image_is_fetched_once_more_in_the_same_pass(
    image_host: ImageHost, catalog_engine: Engine, tmp_path: Path
) -> None:
    """A transient error page or cut-off body under 200 does not cost the image until the next day."""
    picture, other = make_image("PNG", (30, 20)), make_image("JPEG", (16, 16))
    flaky_page = image_host.add("/flaky/page.png", b"<html>502 Bad Gateway</html>",
                                headers={"Content-Type": "image/png"}, then=Route(body=picture))
    flaky_cut = image_host.add("/flaky/cut.jpg", other[: len(other) // 2], then=Route(body=other))
    always_bad = image_host.add("/bad/page.png", b"<html>gone</html>")
    add_products(catalog_engine, [("P1", flaky_page, [flaky_cut, always_bad])])

    report = localise_images(Catalog(catalog_engine), MediaStore(tmp_path / "media"), OPTIONS)

    assert report.downloaded == 2 and [(r.url, r.reason) for r in report.rejected] == [(always_bad, "not_an_image")]
    assert dict(image_host.hits) == {"/flaky/page.png": 2, "/flaky/cut.jpg": 2, "/bad/page.png": 2}
    by_url = {row.original_url: row for row in media_rows(catalog_engine)}
    assert by_url[flaky_page].sha256 == hashlib.sha256(picture).hexdigest()
    assert by_url[flaky_cut].sha256 == hashlib.sha256(other).hexdigest()


def test_a_url_its_own_run_rejected_is_not_asked_again_and_a_fixed_url_is_forgotten(
        image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    bad = image_host.add("/bad.jpg", b"<html>maintenance</html>", headers={"Content-Type": "image/jpeg"})
    add_products(catalog_engine, [("P1", image_host.add("/good.png", make_image()), [bad])])
    store = MediaStore(tmp_path / "media")

    localise_images(Catalog(catalog_engine), store, OPTIONS, run_id="run-1")
    assert image_host.hits["/bad.jpg"] == 2  # a 200 that is not the image is asked once more before rejection
    again = localise_images(Catalog(catalog_engine), store, OPTIONS, run_id="run-1")  # image_files, then product_images
    assert image_host.hits["/bad.jpg"] == 2 and image_host.hits["/good.png"] == 1  # nothing asked again
    assert [(r.url, r.reason) for r in again.rejected] == [(bad, "not_an_image")] and again.reused == 1
    with catalog_engine.connect() as conn:
        (row,) = conn.execute(select(tables.media_rejected_urls)).all()
    assert (row.url, row.reason, row.run_id) == (bad, "not_an_image", "run-1") and "markup" in row.detail

    localise_images(Catalog(catalog_engine), store, OPTIONS, run_id="run-2")
    assert image_host.hits["/bad.jpg"] == 4  # another run asks again

    image_host.add("/bad.jpg", make_image("JPEG"))  # the host fixed it
    fixed = localise_images(Catalog(catalog_engine), store, OPTIONS, run_id="run-3")
    assert fixed.downloaded == 1 and fixed.rejected == []
    with catalog_engine.connect() as conn:
        assert conn.execute(select(tables.media_rejected_urls)).all() == []
