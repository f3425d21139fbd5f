"""Two full syncs against one catalogue at the same moment: the second waits its turn by name, neither corrupts.

The syncs run as two processes with separate Dagster instances (two users, or a CLI run beside
the daemon's): the run queue's tag limit in ``dagster.yaml`` cannot see across them, so the
catalogue's own sync locks (``catalog/locks.py``) are what keeps them apart. A sync waits for the
run holding its lock (logging "waiting for run X"), up to ``HAIER_SYNC_LOCK_WAIT`` seconds, and is
refused by name only past that.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.catalog.sync_log import FETCH_ENDED
from haier_pipeline.sandbox import FaultProfile, SandboxOptions, run_sandbox
from support.catalog_state import reading
from support.pipeline import assert_catalogue_matches, pipeline_env
from support.sync_process import spawn_sync

pytestmark = pytest.mark.slow

COUNTIES = os.environ["HAIER_COUNTY_CODES"].split(",")
SLOW_LISTING = 12.0  # long enough for the second sync to start and be refused while the first holds the listing


def log_rows(url: str) -> list[dict]:
    with reading(url) as conn:
        return [dict(row) for row in conn.execute(select(tables.haier_sync_log)).mappings()]


def fetch_ended(row: dict) -> datetime:
    """When the row's fetch ended and released its lock (``sync_log.hold_sync_log``)."""
    found = re.search(FETCH_ENDED + r" ([0-9T:.+-]+)", row["message"])
    assert found, row["message"]
    return datetime.fromisoformat(found.group(1))


def test_a_sync_started_while_another_lists_waits_for_it_by_name_then_runs(tmp_path: Path, catalog_url):
    with run_sandbox(SandboxOptions(products=60, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path,
                           HAIER_IMAGE_RATE_LIMIT="500", HAIER_RATE_LIMIT="500")
        first = spawn_sync(env, tmp_path / "home-first", tmp_path / "first.log")
        second = spawn_sync(env, tmp_path / "home-second", tmp_path / "second.log")
        first.wait_ready()
        second.wait_ready()
        sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=SLOW_LISTING, seed=1))
        first.go()
        assert first.wait_until(lambda: sandbox.stats().calls.get("products", 0) == 1, timeout=60)
        sandbox.set_faults(FaultProfile())  # only the listing call already in flight stays slow
        second.go()
        assert second.wait_until(lambda: f"waiting for run {first.run_id}" in second.output(), timeout=60)
        assert first.finish(timeout=180) == 0, first.output()[-3000:]
        assert second.finish(timeout=180) == 0, second.output()[-3000:]
        assert_catalogue_matches(catalog_url, sandbox.catalogue, COUNTIES)
        rows = {(row["run_id"], row["sync_type"]): row for row in log_rows(catalog_url)}
        # The second waited for the first's listing (a row opens once its lock is held; the message says when the
        # fetch, the locked part, ended: the row itself stays open until the catalogue is written)...
        assert rows[(second.run_id, "products")]["started_at"] >= fetch_ended(rows[(first.run_id, "products")])
        # ...and then each kind ran one after the other, never alongside. Not necessarily in start order: while
        # the first builds its catalogue tables from the listing (no lock), the second, listed, may take the
        # prices lock before it does (seen on a loaded machine).
        # Images are two passes per run (image_files, then product_images), each under the images lock; the
        # run's one images row spans both, so the other run's passes may fall between them: not compared here.
        for kind in ("prices", "stock"):
            mine, theirs = rows[(second.run_id, kind)], rows[(first.run_id, kind)]
            assert mine["started_at"] >= fetch_ended(theirs) or theirs["started_at"] >= fetch_ended(mine), kind
        for run in (first, second):
            statuses = {row["sync_type"]: row["status"] for row in log_rows(catalog_url) if row["run_id"] == run.run_id}
            assert statuses == {"products": "partial", "prices": "success", "stock": "success",
                                "images": statuses["images"]} and statuses["images"] in ("success", "partial")
    release_database(catalog_url)


def test_a_sync_that_waits_past_its_bound_is_refused_naming_the_holder(tmp_path: Path, catalog_url):
    with run_sandbox(SandboxOptions(products=60, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path,
                           HAIER_IMAGE_RATE_LIMIT="500", HAIER_RATE_LIMIT="500")
        first = spawn_sync(env, tmp_path / "home-first", tmp_path / "first.log")
        second = spawn_sync({**env, "HAIER_SYNC_LOCK_WAIT": "1"}, tmp_path / "home-second", tmp_path / "second.log")
        first.wait_ready()
        second.wait_ready()
        sandbox.set_faults(FaultProfile(slow_rate=1.0, slow_seconds=SLOW_LISTING, seed=1))
        first.go()
        assert first.wait_until(lambda: sandbox.stats().calls.get("products", 0) == 1, timeout=60)
        sandbox.set_faults(FaultProfile())
        second.go()
        assert second.finish(timeout=120) == 1, second.output()[-3000:]
        assert first.finish(timeout=180) == 0, first.output()[-3000:]
        rows = {(row["run_id"], row["sync_type"]): row for row in log_rows(catalog_url)}
        refused = rows[(second.run_id, "products")]
        assert refused["completed_at"] <= rows[(first.run_id, "products")]["completed_at"]  # refused while it listed
        assert refused["status"] == "failed" and refused["total_count"] == 0
        assert "refused" in refused["message"] and "'products' sync is already running" in refused["message"]
        assert first.run_id in refused["message"] and "waited 1 s" in refused["message"]
        assert {kind for run, kind in rows if run == second.run_id} == {"products"}  # it wrote nothing else
        assert_catalogue_matches(catalog_url, sandbox.catalogue, COUNTIES)
    release_database(catalog_url)


def test_two_syncs_started_together_both_end_cleanly_and_the_catalogue_is_exact(tmp_path: Path, catalog_url):
    with run_sandbox(SandboxOptions(products=60, rate_limit=None)) as sandbox:
        env = pipeline_env(sandbox, catalog_url, tmp_path,
                           HAIER_IMAGE_RATE_LIMIT="500", HAIER_RATE_LIMIT="500")
        children = [spawn_sync(env, tmp_path / f"home-{n}", tmp_path / f"sync-{n}.log") for n in (1, 2)]
        for child in children:
            child.wait_ready()
        for child in children:
            child.go()
        codes = [child.finish(timeout=240) for child in children]
        rows = log_rows(catalog_url)
        assert codes == [0, 0], [child.output()[-2000:] for child in children]  # each waited its turn at each step
        for child in children:
            mine = [row for row in rows if row["run_id"] == child.run_id]
            assert {row["status"] for row in mine} <= {"success", "partial"}, mine
        assert not [row for row in rows if row["status"] in ("pending", "processing")]
        assert_catalogue_matches(catalog_url, sandbox.catalogue, COUNTIES)
        with reading(catalog_url) as conn:  # one row per product whoever wrote it
            codes_stored = list(conn.execute(select(tables.products.c.product_code)).scalars())
        assert len(codes_stored) == len(set(codes_stored)) == len(sandbox.catalogue.expected_products())
    release_database(catalog_url)
