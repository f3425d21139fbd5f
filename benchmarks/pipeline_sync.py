"""Time one run of the project's own sync (Dagster, in-process executor) and collect its figures.

Two instruments sit around the run, both outside the pipeline's code:

* **API wait**: the client's ``fetch_*`` iterators are wrapped so that every ``next()`` the
  pipeline's thread makes on them is timed. That is the time the pipeline spent blocked on the
  gateway (the rate limiter's spacing and the calls' latency, as far as the thread pool did not
  hide it). Everything else in the wall time — Dagster start-up and step bookkeeping, parsing,
  diffing, DB writes, the catalog assets, metadata — is "non-API" time.
* **Statement counter** (``catalog.instrument.count_statements``) on the catalog engine: which
  tables the run wrote to, and with how many statements.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from haier_pipeline.catalog.engine import prepare_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.haier_api.client import HaierClient

RAW_ASSETS = ("haier_raw_products", "haier_raw_prices", "haier_raw_stock")
CATALOG_ASSETS = ("brands", "categories", "products", "product_stock")
SYNC_ASSETS = RAW_ASSETS + CATALOG_ASSETS
CATALOG_TABLES = frozenset({"brands", "categories", "products", "product_stock", "product_price_history"})
_WRITTEN_TABLE = re.compile(r"^(?:INSERT(?: OR \w+)? INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", re.IGNORECASE)


@dataclass
class ApiWait:
    """Seconds the consuming threads spent inside ``next()`` on the client's result iterators."""

    seconds: float = 0.0
    results: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds
            self.results += 1


def _timed(results: Iterator[Any], wait: ApiWait) -> Iterator[Any]:
    while True:
        started = time.perf_counter()
        try:
            item = next(results)
        except StopIteration:
            wait.add(time.perf_counter() - started)
            return
        wait.add(time.perf_counter() - started)
        yield item


@contextmanager
def measure_api_wait() -> Iterator[ApiWait]:
    """Time every ``next()`` on ``HaierClient.fetch_products/prices/stock`` results while inside the block."""
    wait = ApiWait()
    originals: dict[str, Callable[..., Iterator[Any]]] = {
        name: getattr(HaierClient, name) for name in ("fetch_products", "fetch_prices", "fetch_stock")
    }

    def wrap(original: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        def fetch(self: HaierClient, *args: Any, **kwargs: Any) -> Iterator[Any]:
            return _timed(original(self, *args, **kwargs), wait)

        return fetch

    for name, original in originals.items():
        setattr(HaierClient, name, wrap(original))
    try:
        yield wait
    finally:
        for name, original in originals.items():
            setattr(HaierClient, name, original)


def tables_written(write_sql: Sequence[str]) -> Counter[str]:
    """Write statements per table name."""
    found: Counter[str] = Counter()
    for sql in write_sql:
        match = _WRITTEN_TABLE.match(sql)
        if match:
            found[match.group(1).lower()] += 1
    return found


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


@dataclass
class SyncRun:
    """What one run did and how long its parts took."""

    wall_s: float
    api_wait_s: float
    metadata: dict[str, dict[str, Any]]  # asset name -> metadata values
    step_seconds: dict[str, float]
    write_statements: Counter[str]

    def number(self, asset: str, key: str) -> float:
        value = self.metadata.get(asset, {}).get(key, 0)
        return float(value or 0)

    @property
    def db_write_s(self) -> float:
        """Raw payload writes (``db_write_seconds``) plus the catalog assets' whole durations."""
        raw = sum(self.number(name, "db_write_seconds") for name in RAW_ASSETS)
        return raw + sum(self.number(name, "duration_seconds") for name in CATALOG_ASSETS)

    @property
    def catalog_rows_written(self) -> int:
        return int(sum(self.number(name, "rows_written") for name in CATALOG_ASSETS))

    @property
    def catalog_write_statements(self) -> int:
        return sum(count for table, count in self.write_statements.items() if table in CATALOG_TABLES)


def _step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
            seconds[event.step_key] = entry.timestamp - started[event.step_key]
    return seconds


def run_sync(defs: dg.Definitions, job_name: str, assets: Sequence[str], catalog_url: str,
             run_config: dict | None = None) -> SyncRun:
    """Execute ``assets`` of ``job_name`` once, in-process, on a fresh ephemeral instance."""
    job = defs.resolve_job_def(job_name)
    engine = prepare_database(catalog_url)
    with dg.DagsterInstance.ephemeral() as instance, count_statements(engine) as statements, measure_api_wait() as wait:
        started = time.perf_counter()
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey(name) for name in assets], run_config=run_config,
            raise_on_error=False,
        )
        wall = time.perf_counter() - started
        if not result.success:
            failures = [event.message for event in result.all_events if event.is_failure]
            raise RuntimeError(f"{job_name} failed: {failures[:3]}")
        metadata = {
            event.asset_key.path[-1]: {key: _value(value) for key, value in event.materialization.metadata.items()}
            for event in result.get_asset_materialization_events()
        }
        steps = _step_seconds(instance, result.run_id)
    return SyncRun(wall, wait.seconds, metadata, steps, tables_written(statements.write_sql))
