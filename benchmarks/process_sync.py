"""Time the first full sync as a user runs it: ``dagster job execute`` in its own process, start to exit.

Each run gets an empty catalog, an empty media folder and a fresh ``DAGSTER_HOME`` (this repository's
``dagster.yaml``: SQLite instance storage). The wall time runs from just before the process is
started to its exit, so Python and Dagster start-up, the run, every image download and write, and
shutdown are all in it. Afterwards the run's events are read from the instance: when each step
started and ended (images overlapping stock shows here), the per-step start cost of the executor
(``STEP_WORKER_STARTING`` → ``STEP_START`` for the multiprocess executor; nothing for threads), and
the images asset's metadata (``image_rate_reached``). Every good image the sandbox serves must be
stored — their SHA-256s are compared with the sandbox's own truth — or the run does not count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VARIANTS = Path(__file__).resolve().with_name("executor_variants.py")
BARE = Path(__file__).resolve().with_name("bare_dagster_job.py")
IMAGES_STEP, LINK_STEP, STOCK_STEP = "image_files", "product_images", "haier_raw_stock"


@dataclass
class ProcessRun:
    """One whole-process first sync."""

    executor: str
    wall_s: float
    exit_code: int
    gateway_calls: int
    answered_429: int
    image_requests: int
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)  # step -> (start, end), s after process start
    worker_start_s: dict[str, float] = field(default_factory=dict)  # multiprocess: seconds to start each step's process
    run_id: str = ""
    home: str = ""  # the run's DAGSTER_HOME (kept until the next run starts)
    env: dict[str, str] = field(default_factory=dict)  # the run's environment (to load the code location again)
    run_started_s: float | None = None
    run_ended_s: float | None = None
    images: dict[str, Any] = field(default_factory=dict)  # image_files: the downloads
    linking: dict[str, Any] = field(default_factory=dict)  # product_images: links rows, asks again for rejected URLs
    stock: dict[str, Any] = field(default_factory=dict)  # haier_raw_stock: its calls, their rate, budget slots missed
    good_images_expected: int = 0
    good_images_stored: int = 0
    load_average: list[float] = field(default_factory=list)

    def overlap_s(self, one: str = IMAGES_STEP, other: str = STOCK_STEP) -> float:
        if one not in self.steps or other not in self.steps:
            return 0.0
        (a0, a1), (b0, b1) = self.steps[one], self.steps[other]
        return max(0.0, min(a1, b1) - max(a0, b0))

    def figures(self, rate_limit: float) -> dict[str, Any]:
        floor = self.gateway_calls / rate_limit
        rate = float(self.images.get("image_rate_reached") or 0.0)
        fetched = int(self.images.get("downloaded") or 0) + int(self.images.get("deduplicated") or 0)
        images_floor = fetched / rate if rate else None
        both = max(floor, images_floor or 0.0)
        return {
            "executor": self.executor, "wall_s": round(self.wall_s, 2), "exit_code": self.exit_code,
            "api_floor_s": round(floor, 2), "wall_over_api_floor": round(self.wall_s / floor, 3) if floor else None,
            "images_fetched": fetched, "image_rate_reached": rate,
            "images_over_rate_s": round(images_floor, 2) if images_floor else None,
            "max_floor_s": round(both, 2), "wall_over_max_floor": round(self.wall_s / both, 3) if both else None,
            "startup_s": round(self.run_started_s, 2) if self.run_started_s is not None else None,
            "run_s": round(self.run_ended_s - self.run_started_s, 2)
            if self.run_started_s is not None and self.run_ended_s is not None else None,
            "exit_after_run_s": round(self.wall_s - self.run_ended_s, 2) if self.run_ended_s is not None else None,
            "images_overlap_stock_s": round(self.overlap_s(), 2),
            "steps": {key: [round(start, 2), round(end, 2)] for key, (start, end) in sorted(self.steps.items(),
                                                                                           key=lambda kv: kv[1][0])},
            "step_worker_start_s": {key: round(value, 2) for key, value in self.worker_start_s.items()},
            "mean_step_worker_start_s": round(sum(self.worker_start_s.values()) / len(self.worker_start_s), 2)
            if self.worker_start_s else 0.0,
            "run_id": self.run_id, "gateway_calls": self.gateway_calls, "answered_429": self.answered_429,
            "image_requests": self.image_requests, "images": self.images, "linking": self.linking, "stock": self.stock,
            "good_images_expected": self.good_images_expected, "good_images_stored": self.good_images_stored,
            "load_average": self.load_average,
        }


def run_first_sync(sandbox: Any, executor: str, scratch: Path, county: str, log_dir: Path,
                   catalog_url: str | None = None, good_images: dict[str, str] | None = None) -> ProcessRun:
    """One first full sync of ``sandbox``'s catalogue with ``executor`` (a job of ``executor_variants.py``).

    ``catalog_url`` must name an empty database (default: a new SQLite file under ``scratch``);
    ``good_images`` (URL path -> SHA-256) spares re-rendering the sandbox's pictures to check them.
    """
    home, env = _fresh_home(sandbox, scratch, county, catalog_url)
    catalog_url = env["HAIER_CATALOG_DB_URL"]
    command = _job_command(f"full_sync_{executor}")
    log_path = log_dir / f"first-sync-{executor}-{int(time.time())}.log"
    sandbox.reset_stats()
    load = [round(value, 2) for value in os.getloadavg()]
    started_wall = time.time()
    started = time.perf_counter()
    with log_path.open("w") as log:
        exit_code = subprocess.run(command, env=env, cwd=scratch, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    served = sandbox.stats()
    run = ProcessRun(executor, wall, exit_code, served.total_calls, served.answered_429, served.image_requests,
                     load_average=load, home=str(home), env=env)
    if exit_code == 0:
        _read_instance(run, home, started_wall)
        run.good_images_expected, run.good_images_stored = _good_images(catalog_url, sandbox.options.seed, good_images)
    return run


def time_empty_run(sandbox: Any, scratch: Path, county: str, log_dir: Path, *, bare: bool = False) -> float:
    """Seconds from process start to exit of a run of one step that does nothing, in a fresh Dagster home.

    ``empty_run`` (this code location, the full sync's executor) is the cost of any ``dagster job execute``
    of the project, which no sync can go below; ``bare`` times Dagster alone (``bare_dagster_job.py``).
    """
    _home, env = _fresh_home(sandbox, scratch, county, None)
    command = _job_command("bare_empty_run", BARE) if bare else _job_command("empty_run")
    log_path = log_dir / f"{command[-1]}-{int(time.time())}.log"
    started = time.perf_counter()
    with log_path.open("w") as log:
        exit_code = subprocess.run(command, env=env, cwd=scratch, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - started
    if exit_code != 0:
        raise RuntimeError(f"{command[-1]} exited {exit_code}; log: {log_path.read_text()[-3000:]}")
    return wall


def _fresh_home(sandbox: Any, scratch: Path, county: str, catalog_url: str | None) -> tuple[Path, dict[str, str]]:
    """An empty ``scratch`` with a new Dagster home, and the environment of a run against ``sandbox``."""
    if scratch.exists():
        shutil.rmtree(scratch)
    home, data = scratch / "dagster_home", scratch / "data"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAIER_")}
    env.update(sandbox.env())
    env.update({"DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1", "HAIER_DATA_DIR": str(data),
                "HAIER_MEDIA_ROOT": str(data / "media"),
                "HAIER_CATALOG_DB_URL": catalog_url or f"sqlite:///{data / 'catalog.sqlite'}",
                "HAIER_COUNTY_CODES": county, "HAIER_RATE_LIMIT": os.environ.get("HAIER_RATE_LIMIT", "100"),
                "PYTHONPATH": str(PROJECT_ROOT)})
    return home, env


def _job_command(job: str, location: Path = VARIANTS) -> list[str]:
    return [sys.executable, "-m", "dagster", "job", "execute", "-f", str(location), "-j", job]


def _read_instance(run: ProcessRun, home: Path, started_wall: float) -> None:
    import dagster as dg

    types = dg.DagsterEventType
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            (record,) = instance.get_run_records(limit=1)
            run.run_id = record.dagster_run.run_id
            starts: dict[str, float] = {}
            workers: dict[str, float] = {}
            for entry in instance.all_logs(record.dagster_run.run_id):
                event, at = entry.dagster_event, entry.timestamp - started_wall
                if event is None:
                    continue
                kind = event.event_type
                if kind == types.RUN_START:
                    run.run_started_s = at
                elif kind in (types.RUN_SUCCESS, types.RUN_FAILURE):
                    run.run_ended_s = at
                elif kind == types.STEP_WORKER_STARTING and event.step_key:
                    workers[event.step_key] = at
                elif kind == types.STEP_START and event.step_key:
                    starts[event.step_key] = at
                    if event.step_key in workers:
                        run.worker_start_s[event.step_key] = at - workers[event.step_key]
                elif kind in (types.STEP_SUCCESS, types.STEP_FAILURE) and event.step_key in starts:
                    run.steps[event.step_key] = (starts[event.step_key], at)
            for key, into in ((IMAGES_STEP, run.images), (LINK_STEP, run.linking), (STOCK_STEP, run.stock)):
                event = instance.get_latest_materialization_event(dg.AssetKey(key))
                if event is not None and event.asset_materialization is not None:
                    into.update({name: getattr(value, "value", value)
                                 for name, value in event.asset_materialization.metadata.items()
                                 if name in ("image_urls", "downloaded", "deduplicated", "reused", "rejected",
                                             "image_rate_reached", "image_rate_by_host", "images_per_second",
                                             "duration_seconds", "http_requests", "worker_processes",
                                             "api_calls", "api_calls_per_second", "api_slots_missed",
                                             "api_in_flight", "api_p95_latency_ms")})
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def _good_images(catalog_url: str, seed: int, known: dict[str, str] | None) -> tuple[int, int]:
    """(good images the sandbox serves for the synced products, how many of them are stored) by SHA-256."""
    from sqlalchemy import create_engine, select

    from haier_pipeline.catalog.tables import media_images, products
    from haier_pipeline.sandbox.images import image_truth

    engine = create_engine(catalog_url)
    try:
        with engine.connect() as conn:
            urls: set[str] = set()
            for main, pages in conn.execute(select(products.c.product_image_url, products.c.product_page_urls)):
                urls.update(url for url in [main, *(pages or [])] if isinstance(url, str) and url)
            stored = set(conn.execute(select(media_images.c.sha256)).scalars())
    finally:
        engine.dispose()
    if known is not None:
        expected = {known[path] for path in (urlsplit(url).path for url in urls) if path in known}
    else:
        truths = (image_truth(seed, urlsplit(url).path) for url in urls)
        expected = {truth.sha256 for truth in truths if truth.kind == "ok" and truth.sha256}
    return len(expected), len(expected & stored)
