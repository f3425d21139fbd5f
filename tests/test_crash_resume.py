"""SIGKILL a full sync at a dozen seeded-random points, and resume each time: nothing is lost or half-written.

One catalogue, one media root and one persistent Dagster home (so killed runs stay ``STARTED``
there, as they do for a user) are shared by a chain of sync processes. Each is killed at a
point chosen from what an operator can watch — gateway calls made (listing, prices, stock),
image requests, rows and files appearing — never from inside the code. After every kill the
catalogue must be consistent (``support.catalog_state.consistency_problems``); the next run must
close the killed run's log rows as ``failed``; the last run, left alone, must end with the
exact catalogue, every image, exact sync-log counts, and a cleanup that removes the crash
residue. One of the killed syncs is ``dagster job execute`` itself; the others are a small
entry point that executes the same job in-process (it can be started ahead, saving ~7 s each).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import create_engine, select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import release_database
from haier_pipeline.runs.liveness import ABANDONED_REASON
from haier_pipeline.sandbox import RunningSandbox, SandboxOptions, run_sandbox
from support.catalog_state import (
    consistency_problems,
    expected_log_counts,
    image_mismatches,
    log_counts,
    media_files,
    reading,
    row_count,
)
from support.pipeline import assert_catalogue_matches, pipeline_env, run_job
from support.sync_process import SyncChild, prepare_home, spawn_sync

pytestmark = pytest.mark.slow

PRODUCTS = 120
SEED = 20251125
COUNTIES = os.environ["HAIER_COUNTY_CODES"].split(",")
KILLS = 12
CLI_KILL = 2  # the third kill hits `dagster job execute`


@dataclass
class Watch:
    """What the test can see of a running sync."""

    sandbox: RunningSandbox
    url: str
    media_root: Path

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url)  # a plain reader: never takes SQLite's write lock

    def calls(self, endpoint: str) -> int:
        return self.sandbox.stats().calls.get(endpoint, 0)

    def image_requests(self) -> int:
        return self.sandbox.stats().image_requests

    def rows(self, table: str) -> int:
        with self.engine.connect() as conn:
            return row_count(conn, table)

    def files(self) -> int:
        return len(media_files(self.media_root))


@dataclass(frozen=True)
class KillPoint:
    phase: str
    label: str
    reached: Callable[[Watch], bool]
    already_passed: Callable[[Watch], bool] = lambda watch: False


def kill_plan(rng: random.Random, price_calls: int, stock_calls: int, image_urls: int) -> list[KillPoint]:
    """Kill points: gateway phases in random order, interleaved with first-time writes in pipeline order."""
    def calls(endpoint: str, k: int) -> KillPoint:
        return KillPoint(endpoint if endpoint != "products" else "listing", f"{endpoint} call #{k}",
                         lambda w: w.calls(endpoint) >= k)

    def appears(table: str, phase: str) -> KillPoint:
        def written(w: Watch) -> bool:
            return w.rows(table) > 0

        return KillPoint(phase, f"first {table} rows committed", written, written)

    def images(k: int) -> KillPoint:
        return KillPoint("images", f"image request #{k}", lambda w: w.image_requests() >= k,
                         lambda w: w.rows("media_images") > 0)

    def files(k: int) -> KillPoint:
        return KillPoint("images", f"{k} image files written", lambda w: w.files() >= k,
                         lambda w: w.rows("media_images") > 0)

    anytime = [calls("products", 1), calls("prices", rng.randint(1, price_calls)),
               calls("stock", rng.randint(1, stock_calls)), calls("stock", rng.randint(1, stock_calls)),
               calls("prices", rng.randint(1, price_calls)), calls("stock", rng.randint(1, stock_calls // 4)),
               calls("products", 1), calls("stock", rng.randint(1, stock_calls)), calls("prices", 1)]
    rng.shuffle(anytime)
    # The job's step order: image_files starts as soon as the listing is stored, beside prices and products.
    in_order = [appears("haier_raw_products", "db writes"),
                images(rng.randint(1, image_urls // 3)), files(rng.randint(1, image_urls // 3)),
                appears("media_images", "db writes"), appears("products", "db writes"),
                appears("product_stock", "db writes")]
    plan: list[KillPoint] = []
    while anytime or in_order:
        source = in_order if in_order and (not anytime or rng.random() < 0.5) else anytime
        plan.append(source.pop(0))
    return plan


def run_ids_in_log(url: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """``{run_id: [(sync_type, status, message)]}`` from the sync log."""
    found: dict[str, list] = {}
    log = tables.haier_sync_log.c
    with reading(url) as conn:
        for run_id, kind, status, message in conn.execute(select(log.run_id, log.sync_type, log.status, log.message)):
            found.setdefault(run_id, []).append((kind, status, message))
    return found


def test_sigkill_at_random_points_then_resume_loses_nothing(tmp_path: Path, catalog_url: str) -> None:
    rng = random.Random(SEED)
    options = SandboxOptions(products=PRODUCTS, seed=SEED % 1000, rate_limit=None)
    with run_sandbox(options) as sandbox:
        truth = sandbox.catalogue
        # A killed run holds no session at all: a short second look (PostgreSQL) declares it dead as surely as 5 s.
        env = pipeline_env(sandbox, catalog_url, tmp_path, HAIER_RATE_LIMIT="200", HAIER_IMAGE_RATE_LIMIT="200",
                           HAIER_DEAD_RUN_CONFIRM_SECONDS="0.3")
        home = prepare_home(tmp_path / "dagster_home")
        dg.DagsterInstance.from_config(str(home)).dispose()  # storage created once, before children race for it
        watch = Watch(sandbox, catalog_url, tmp_path / "media")
        procurable = sum(1 for record in truth.expected_products().values() if record.is_sales == "1")
        image_urls = len(truth.expected_images())
        plan = kill_plan(rng, price_calls=-(-PRODUCTS // 20), stock_calls=procurable * len(COUNTIES),
                         image_urls=image_urls)

        def spawn(index: int, cli: bool = False) -> SyncChild:
            return spawn_sync(env, home, tmp_path / f"sync-{index}.log", cli=cli)

        killed: list[tuple[KillPoint, str | None]] = []
        by_cli: list[str | None] = []
        known_runs: set[str] = set()
        upcoming = spawn(0)
        for index, point in enumerate(plan):
            if len(killed) == KILLS:
                break
            if point.already_passed(watch):
                continue  # an earlier kill landed after this point: the state is past it
            sandbox.reset_stats()
            cli = len(killed) == CLI_KILL
            if cli:
                child = spawn(index, cli=True)
            else:
                child, upcoming = upcoming, None
                child.go()
                upcoming = spawn(index + 1)  # imports while this one runs
            reached = child.wait_until(partial(point.reached, watch), timeout=180)
            child.kill()
            assert reached, f"the sync ended before {point.label}:\n{child.output()[-3000:]}"
            run_id = child.run_id or next(iter(set(run_ids_in_log(catalog_url)) - known_runs), None)
            killed.append((point, run_id))
            if cli:
                by_cli.append(run_id)
            known_runs.update(run_ids_in_log(catalog_url))
            problems = consistency_problems(catalog_url, watch.media_root, truth, COUNTIES)
            assert not problems, f"after a kill at {point.label}: {problems[:10]}"
            # The rows earlier killed runs left open were closed as failed by a later run.
            logs = run_ids_in_log(catalog_url)
            for _, earlier in killed[:-1]:
                for kind, status, message in logs.get(earlier, []):
                    assert status != "processing" and (status != "failed" or message == ABANDONED_REASON), (
                        earlier, kind, status, message)
            print(f"kill {len(killed)} at {point.label}: {time.monotonic() - child.started_at:.1f} s into the run")

        assert len(killed) >= 10, [point.label for point, _ in killed]
        assert by_cli and by_cli[0], "the `dagster job execute` sync was not killed mid-run"
        phases = {point.phase for point, _ in killed}
        assert {"listing", "prices", "stock", "images", "db writes"} <= phases, phases

        final = upcoming if upcoming is not None else spawn(len(plan))
        sandbox.reset_stats()
        final.go()
        assert final.finish(timeout=300) == 0, final.output()[-4000:]

        assert_catalogue_matches(catalog_url, truth, COUNTIES)
        assert not consistency_problems(catalog_url, watch.media_root, truth, COUNTIES)
        assert not image_mismatches(catalog_url, watch.media_root, truth)
        assert_sync_log_closed(catalog_url, truth, killed, final.run_id)
        with dg.DagsterInstance.from_config(str(home)) as instance:  # the killed runs no longer look alive there
            statuses = {run_id: instance.get_run_by_id(run_id).status for _, run_id in killed if run_id}
            held = instance.event_log_storage.get_concurrency_run_ids()
        assert set(statuses.values()) <= {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}, statuses
        assert not held & set(statuses), "a killed run still holds a pool slot"

        cleanup = run_job(env, "media_cleanup_job",
                          run_config={"ops": {"media_cleanup": {"config": {"dry_run": False, "grace_minutes": 0}}}})
        assert cleanup.success
        with reading(catalog_url) as conn:
            recorded = set(conn.execute(select(tables.media_images.c.file)).scalars())
        on_disk = {path.relative_to(watch.media_root).as_posix() for path in (watch.media_root / "images").rglob("*")
                   if path.is_file()}
        assert on_disk == recorded  # the crashes' orphan and temporary files are gone, nothing recorded was lost
    watch.engine.dispose()
    release_database(catalog_url)


def assert_sync_log_closed(url: str, truth, killed, final_run: str) -> None:
    logs = run_ids_in_log(url)
    assert not [row for rows in logs.values() for row in rows if row[1] in ("pending", "processing")]
    for point, run_id in killed:
        for kind, status, message in logs.get(run_id, []):
            if status == "failed":
                assert message == ABANDONED_REASON, (point.label, kind, message)  # closed by the next run
            else:
                assert status in ("success", "partial"), (point.label, kind, status)  # finished before the kill
    assert log_counts(url, final_run) == expected_log_counts(truth, COUNTIES)
