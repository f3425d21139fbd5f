"""Drain the client's streamed call results into the raw payload tables, chunk by chunk.

Fetching runs in the client's thread pool while this loop validates and writes, so the
rate limiter stays saturated and memory stays flat however large the catalogue is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from haier_pipeline.catalog.writes import WriteCounts
from haier_pipeline.constants import CHUNK_SIZE
from haier_pipeline.haier_api import CallResult
from haier_pipeline.haier_api.records import RecordError
from haier_pipeline.resources import CatalogResource
from haier_pipeline.runs.tracking import SyncTracker

Row = TypeVar("Row")


@dataclass
class DrainOutcome(Generic[Row]):
    """What a drain wrote, how long the writes took, and the keys it stored."""

    counts: WriteCounts = field(default_factory=WriteCounts)
    write_seconds: float = 0.0
    stored_keys: list[Any] = field(default_factory=list)
    failed_calls: int = 0


def drain_results(
    results: Iterable[CallResult], to_rows: Callable[[CallResult], tuple[list[Row], list[RecordError]]],
    store: Callable[[Connection, Sequence[Row]], WriteCounts], key_of: Callable[[Row], Any], catalog: CatalogResource,
    tracker: SyncTracker, chunk_size: int = CHUNK_SIZE,
) -> DrainOutcome[Row]:
    """Validate each call's records, count and name the bad ones, and store the good ones in chunks.

    A call that gave up after retries counts every key it carried as failed; the rest still land.
    """
    outcome: DrainOutcome[Row] = DrainOutcome()
    pending: list[Row] = []

    def flush() -> None:
        if not pending:
            return
        tracker.ensure_locked()  # never write once the sync's lock is lost: another run may hold it
        started = time.perf_counter()
        with catalog.begin() as conn:
            outcome.counts += store(conn, pending)
        outcome.write_seconds += time.perf_counter() - started
        outcome.stored_keys.extend(key_of(row) for row in pending)
        pending.clear()

    for result in results:
        if result.error is not None:
            outcome.failed_calls += 1
            for description in describe_failed_call(result):
                tracker.failed(description)
            continue
        rows, errors = to_rows(result)
        for error in errors:
            tracker.failed(error.describe())
        tracker.succeeded(len(rows) - sum(error.kept for error in errors))  # a kept record counts once, as failed
        pending.extend(rows)
        if len(pending) >= chunk_size:
            flush()
    flush()
    return outcome


def describe_failed_call(result: CallResult) -> Iterator[str]:
    """One failure line per key of a call that gave up, naming the reason."""
    reason = str(result.error)
    keys = result.product_codes or ("(whole listing)",)
    for code in keys:
        where = f"{code}@{result.county_code}" if result.county_code else code
        yield f"{result.endpoint}: {where}: {reason}"
