"""Killing the images pass (SIGKILL) mid-download or mid-write never leaves a row or a product pointing at a
partial file.

The pass runs in a child process; the test kills it at chosen points — while an image body is
half-sent (a scripted host that stalls mid-body), inside a file write, and after a random number
of image requests to the sandbox — then checks the invariants, re-runs the pass to completion
against the same server and lets cleanup remove what the crash left behind.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
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
    load_sandbox_products,
    make_image,
)

from haier_pipeline.catalog import tables
from haier_pipeline.media.cleanup import apply_cleanup, plan_cleanup
from haier_pipeline.media.fetch import FetchLimits
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import RELATIVE_PATH, TEMP_PREFIX, MediaStore, sha256_file
from haier_pipeline.media.urls import UrlPolicy
from haier_pipeline.media.validate import validate_image
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox

OPTIONS = ImageOptions(policy=UrlPolicy(allow_loopback=True), limits=FetchLimits(), rate_per_host=1000, concurrency=4)

CHILD = r"""
import json, os, stat, sys, threading
from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.media import store as store_module
from haier_pipeline.media.localise import localise_images
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import MediaStore
from haier_pipeline.media.urls import UrlPolicy

args = json.loads(sys.argv[1])
engine = prepare_database(args["db_url"])
if args["freeze_in_write"]:
    calls = iter(range(1, 10**6))
    real_fsync = os.fsync
    def fsync(fd):
        # the n-th file fsync: inside a file write, bytes in the temp file, not yet renamed
        if stat.S_ISREG(os.fstat(fd).st_mode) and next(calls) == args["freeze_in_write"]:
            open(args["marker"], "w").close()
            threading.Event().wait()
        real_fsync(fd)
    store_module.os.fsync = fsync

class Catalog:
    def begin(self):
        return engine.begin()

options = ImageOptions(policy=UrlPolicy(allow_loopback=True), rate_per_host=args["rate"], concurrency=4)
localise_images(Catalog(), MediaStore(args["media"]), options, chunk_size=5)
"""


def start_child(
    engine: Engine, media: Path, marker: Path, *, rate: float = 1000, freeze_in_write: int = 0
) -> subprocess.Popen:
    args = {"db_url": engine.url.render_as_string(hide_password=False), "media": str(media), "marker": str(marker),
            "freeze_in_write": freeze_in_write, "rate": rate}
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)])


def wait_until(condition, child: subprocess.Popen, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for ``condition()`` while the child runs; fail if the child ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, "the child finished before reaching the kill point"
        assert time.monotonic() < deadline, "the child never reached the kill point"
        time.sleep(0.005)


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL


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


def finish_and_clean(engine: Engine, root: Path, good: dict[str, str]) -> None:
    """Re-run to completion; then exactly the good images (URL -> sha256) are recorded, and cleanup leaves only them."""
    store = MediaStore(root)
    localise_images(Catalog(engine), store, OPTIONS)
    assert_consistent(engine, root)
    apply_cleanup(Catalog(engine), store, plan_cleanup(Catalog(engine), store, grace=timedelta(0)))
    with engine.connect() as conn:
        rows = conn.execute(select(tables.media_images.c.original_url, tables.media_images.c.sha256,
                                   tables.media_images.c.file)).all()
    assert {row.original_url: row.sha256 for row in rows} == good
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == {row.file for row in rows}


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with run_sandbox(SandboxOptions(products=60, seed=3)) as running:
        yield running


def good_images(sandbox: RunningSandbox) -> dict[str, str]:
    return {url: t.sha256 for url, t in sandbox.catalogue.expected_images().items() if t.kind == "ok"}


def test_killed_while_a_body_is_half_sent(image_host: ImageHost, catalog_engine: Engine, tmp_path: Path) -> None:
    images = {f"/p{n}/{k}.png": make_image("PNG", (20 + n, 10 + k)) for n in range(12) for k in range(2)}
    for path, data in images.items():
        image_host.add(path, data)
    add_products(catalog_engine, [(f"P{n}", image_host.url(f"/p{n}/0.png"), [image_host.url(f"/p{n}/1.png")])
                                  for n in range(12)])
    whole = image_host.routes["/p5/0.png"]
    stalled = Route(200, whole.body, cut_after=len(whole.body) // 2, hold=threading.Event())
    image_host.routes["/p5/0.png"] = stalled
    root = tmp_path / "media"
    child = start_child(catalog_engine, root, tmp_path / "marker")
    try:
        assert stalled.sent_part.wait(30), "the child never requested the stalled image"
        kill(child)
    finally:
        stalled.hold.set()
        if child.poll() is None:
            child.kill()
    assert_consistent(catalog_engine, root)
    with catalog_engine.connect() as conn:
        assert image_host.url("/p5/0.png") not in set(
            conn.execute(select(tables.media_images.c.original_url)).scalars()
        )
    image_host.routes["/p5/0.png"] = whole
    finish_and_clean(
        catalog_engine, root, {image_host.url(p): hashlib.sha256(d).hexdigest() for p, d in images.items()}
    )


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_killed_inside_a_file_write(sandbox: RunningSandbox, catalog_engine: Engine, tmp_path: Path) -> None:
    load_sandbox_products(catalog_engine, sandbox.catalogue)
    root, marker = tmp_path / "media", tmp_path / "in-write"
    child = start_child(catalog_engine, root, marker, freeze_in_write=7)
    try:
        wait_until(marker.exists, child)
        kill(child)
    finally:
        if child.poll() is None:
            child.kill()
    temps = list(root.rglob(TEMP_PREFIX + "*"))
    assert temps  # the writes that were cut: their bytes only ever lived under temporary names
    assert_consistent(catalog_engine, root)  # ... which nothing refers to
    finish_and_clean(catalog_engine, root, good_images(sandbox))
    assert not any(temp.exists() for temp in temps)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_killed_after_a_random_number_of_image_requests(sandbox: RunningSandbox, catalog_engine: Engine,
                                                        tmp_path: Path, seed: int) -> None:
    load_sandbox_products(catalog_engine, sandbox.catalogue)
    good = good_images(sandbox)
    kill_after = random.Random(seed).randint(1, len(good) * 3 // 4)
    root = tmp_path / "media"
    sandbox.reset_stats()
    child = start_child(catalog_engine, root, tmp_path / "marker", rate=60)  # ~2 s of downloads: surely killed mid-run
    try:
        wait_until(lambda: sandbox.stats().image_requests >= kill_after, child)
        kill(child)
    finally:
        if child.poll() is None:
            child.kill()
    assert_consistent(catalog_engine, root)
    finish_and_clean(catalog_engine, root, good)
