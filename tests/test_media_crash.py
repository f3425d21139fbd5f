"""Killing the images pass (SIGKILL) mid-download or mid-write never leaves a row or a product pointing at a partial file.

The pass runs in a child process against a real HTTP host; the test kills it at chosen points
(while a body is half-sent, inside a file write, and after a random number of requests), then
checks the invariants, re-runs the pass to completion and lets cleanup remove what the crash left.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from haier_pipeline.catalog import tables
from haier_pipeline.media.cleanup import apply_cleanup, plan_cleanup
from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import RELATIVE_PATH, TEMP_PREFIX, MediaStore, sha256_file
from haier_pipeline.media.urls import UrlPolicy
from haier_pipeline.media.validate import validate_image
from test_media_support import (  # noqa: F401 - fixtures
    Catalog, ImageHost, Route, add_products, catalog_engine, image_host, make_image,
)

PRODUCTS = 24
OPTIONS = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(max_bytes=1 << 20), rate_per_host=1000,
                       concurrency=3)

CHILD = r"""
import json, os, sys, threading
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.media import store as store_module
from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import MediaStore
from haier_pipeline.media.urls import UrlPolicy

args = json.loads(sys.argv[1])
engine = prepare_database(args["db_url"])
freeze_at = args["freeze_in_write"]
if freeze_at:
    calls = iter(range(1, 10**6))
    real_fsync = os.fsync
    def fsync(fd):
        if next(calls) == freeze_at:  # inside a file write: bytes in the temp file, not yet renamed
            open(args["marker"], "w").close()
            threading.Event().wait()
        real_fsync(fd)
    store_module.os.fsync = fsync

class Catalog:
    def begin(self):
        return engine.begin()

options = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(max_bytes=1 << 20),
                       rate_per_host=1000, concurrency=3)
localise_images(Catalog(), MediaStore(args["media"]), options, chunk_size=3)
"""


def start_child(db_url: str, media: Path, marker: Path, freeze_in_write: int = 0) -> subprocess.Popen:
    args = json.dumps({"db_url": db_url, "media": str(media), "marker": str(marker), "freeze_in_write": freeze_in_write})
    return subprocess.Popen([sys.executable, "-c", CHILD, args], env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_file(path: Path, child: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert child.poll() is None, "the child finished before reaching the kill point"
        assert time.monotonic() < deadline, "the child never reached the kill point"
        time.sleep(0.01)


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL


def serve_catalogue(host: ImageHost, engine: Engine) -> dict[str, bytes]:
    images: dict[str, bytes] = {}
    items = []
    for n in range(PRODUCTS):
        main = f"/p{n}/main.png"
        pages = [f"/p{n}/page{k}.jpg" for k in range(1 + n % 3)]
        for k, path in enumerate([main, *pages]):
            images[path] = make_image("PNG" if k == 0 else "JPEG", (50 + n, 20 + k), (n * 9 % 256, k * 60, 90))
            host.add(path, images[path])
        items.append((f"P{n}", host.url(main), [host.url(p) for p in pages]))
    add_products(engine, items)
    return images


def assert_consistent(engine: Engine, root: Path) -> None:
    """No row or product points at a missing, partial or foreign file; every final-named file is a whole image."""
    with engine.connect() as conn:
        rows = conn.execute(select(tables.media_images)).all()
        lists = conn.execute(select(tables.products.c.main_images, tables.products.c.detail_images)).all()
    recorded = {row.file for row in rows}
    for row in rows:
        assert RELATIVE_PATH.match(row.file)
        assert sha256_file(root / row.file) == row.sha256 and (root / row.file).stat().st_size == row.size
    for main, detail in lists:
        assert set(main) | set(detail) <= recorded
    for path in root.rglob("*"):
        if path.is_file() and not path.name.startswith(TEMP_PREFIX):
            validate_image(path.read_bytes(), 10**8)  # raises if any final-named file were partial


def finish_and_clean(engine: Engine, root: Path, images: dict[str, bytes]) -> None:
    store = MediaStore(root)
    report = localise_images(Catalog(engine), store, OPTIONS)
    assert report.rejected == []
    assert_consistent(engine, root)
    with engine.connect() as conn:
        lists = conn.execute(select(tables.products.c.product_code, tables.products.c.main_images,
                                    tables.products.c.detail_images)).all()
    assert all(len(main) == 1 and len(detail) == 1 + int(code[1:]) % 3 for code, main, detail in lists)
    plan = plan_cleanup(Catalog(engine), store, grace=timedelta(0))
    apply_cleanup(Catalog(engine), store, plan)
    with engine.connect() as conn:
        recorded = set(conn.execute(select(tables.media_images.c.file)).scalars())
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == recorded and len(recorded) == len(images)


def test_killed_while_a_body_is_half_sent(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    images = serve_catalogue(image_host, catalog_engine)
    route = image_host.routes["/p7/main.png"]
    stalled = Route(200, route.body, cut_after=len(route.body) // 2, hold=threading.Event())
    image_host.routes["/p7/main.png"] = stalled
    root = tmp_path / "media"
    child = start_child(catalog_engine.url.render_as_string(hide_password=False), root, tmp_path / "marker")
    try:
        assert stalled.sent_part.wait(30), "the child never requested the stalled image"
        kill(child)
    finally:
        stalled.hold.set()
        if child.poll() is None:
            child.kill()
    assert_consistent(catalog_engine, root)
    with catalog_engine.connect() as conn:
        assert image_host.url("/p7/main.png") not in set(conn.execute(select(tables.media_images.c.original_url)).scalars())
    image_host.routes["/p7/main.png"] = route
    finish_and_clean(catalog_engine, root, images)


def test_killed_inside_a_file_write(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    images = serve_catalogue(image_host, catalog_engine)
    root, marker = tmp_path / "media", tmp_path / "in-write"
    child = start_child(catalog_engine.url.render_as_string(hide_password=False), root, marker, freeze_in_write=5)
    try:
        wait_for_file(marker, child)
        kill(child)
    finally:
        if child.poll() is None:
            child.kill()
    temps = [p for p in root.rglob(TEMP_PREFIX + "*")]
    assert len(temps) == 1  # the write that was cut: bytes only under a temporary name
    assert_consistent(catalog_engine, root)
    finish_and_clean(catalog_engine, root, images)
    assert not temps[0].exists()


@pytest.mark.parametrize("seed", range(5))
def test_killed_after_a_random_number_of_requests(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path,
                                                  seed: int) -> None:
    images = serve_catalogue(image_host, catalog_engine)
    kill_after = random.Random(seed).randint(1, len(images) - 1)
    release = image_host.hold_requests_after(kill_after)  # so the child is surely mid-run when killed
    root = tmp_path / "media"
    child = start_child(catalog_engine.url.render_as_string(hide_password=False), root, tmp_path / "marker")
    try:
        assert image_host.wait_for_hits(kill_after + 1, timeout=30)
        kill(child)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    image_host.gate = None
    assert_consistent(catalog_engine, root)
    finish_and_clean(catalog_engine, root, images)
