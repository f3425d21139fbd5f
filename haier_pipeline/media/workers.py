"""Download and validate images in worker processes, so HTTP parsing and Pillow use every core.

An images pass is CPU work in Python for each small image: building and parsing the HTTP
exchange, decoding with Pillow, hashing, writing the file. Threads of one process share one interpreter lock,
and in a full sync that lock is also wanted by the gateway client and Dagster's event writes,
so images crawled at a fraction of what the host could serve. ``HAIER_IMAGE_PROCESSES``
worker processes (started with ``spawn``: nothing of the run's threads or connections is
inherited) each own one :class:`~.fetch.ImageFetcher` — pooled connections, the URL policy,
adaptive per-host politeness — and a share of ``HAIER_IMAGE_CONCURRENCY`` and of the hard
``HAIER_IMAGE_RATE_LIMIT``, so all workers together stay within both. Each worker also writes what it
validated (atomically, under a fresh name); the parent records the rows (``localise.py``) and
removes a second copy when two URLs turn out to hold the same bytes.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from .fetch import ImageFetcher
from .options import ImageOptions
from .rejections import NOT_AN_IMAGE, TRUNCATED, ImageRejected
from .store import MediaStore
from .validate import ImageFacts, validate_image


@dataclass(frozen=True)
class StoredDownload:
    """An image downloaded, validated and written under the media root (no row names it yet)."""

    url: str
    file: str  # relative path under the media root
    facts: ImageFacts


Outcome = StoredDownload | ImageRejected
T = TypeVar("T")
R = TypeVar("R")
RETRIED_ONCE = frozenset({NOT_AN_IMAGE, TRUNCATED})  # fetched once more in the same pass before being rejected
URLS_PER_BATCH = 24
BATCHES_PER_WORKER = 3  # queued per worker, so a worker never waits for the parent between batches
PROCESSES_FROM_URLS = 200  # fewer URLs to fetch in a chunk: threads (starting the workers takes about a second)


def fetch_image(fetcher: ImageFetcher, store: MediaStore, url: str, max_pixels: int, now: datetime) -> Outcome:
    """Download, validate and write one URL's image; a 200 that is not the image (error page, cut-off body) is
    asked once more. The file's folder is not fsynced here: the caller syncs folders before recording rows."""

    def attempt() -> tuple[bytes, ImageFacts] | ImageRejected:
        try:
            data = fetcher.fetch(url).data
            return data, validate_image(data, max_pixels)
        except ImageRejected as rejection:
            return rejection

    outcome = attempt()
    if isinstance(outcome, ImageRejected) and outcome.reason in RETRIED_ONCE:
        outcome = attempt()
    if isinstance(outcome, ImageRejected):
        return outcome
    data, facts = outcome
    return StoredDownload(url, store.write(data, facts.extension, now, sync_dir=False), facts)


def bounded_map(pool: Executor, fn: Callable[[T], R], items: Iterable[T], window: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` as each finishes, with at most ``window`` calls submitted and unconsumed."""
    source = iter(items)
    running: dict[Future[R], T] = {}

    def top_up() -> None:
        while len(running) < window:
            try:
                item = next(source)
            except StopIteration:
                return
            running[pool.submit(fn, item)] = item

    top_up()
    try:
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                item = running.pop(future)
                yield item, future.result()
            top_up()
    finally:
        for future in running:
            future.cancel()


class ThreadFetching:
    """Fetch in threads of this process (tests, a single core, or ``HAIER_IMAGE_PROCESSES=0``)."""

    def __init__(self, options: ImageOptions, store: MediaStore, now: datetime,
                 fetcher: ImageFetcher | None = None) -> None:
        self.options, self.store, self.now = options, store, now
        self._own = fetcher is None
        self.fetcher = fetcher or ImageFetcher(options.policy, options.limits, rate_per_host=options.rate_per_host,
                                               pool_size=options.concurrency)
        self._requests_before = self.fetcher.requests_sent
        self._pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="image-fetch")

    def fetch_all(self, urls: list[str]) -> Iterator[tuple[str, Outcome]]:
        max_pixels = self.options.max_pixels
        yield from bounded_map(self._pool, lambda url: fetch_image(self.fetcher, self.store, url, max_pixels, self.now),
                               urls, self.options.concurrency * 4)

    @property
    def requests_sent(self) -> int:
        return self.fetcher.requests_sent - self._requests_before

    def host_pace(self) -> dict[str, dict[str, float | int]]:
        return self.fetcher.politeness.figures()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._own:
            self.fetcher.close()


class ProcessFetching:
    """Fetch in ``processes`` worker processes, each with its share of the concurrency and of the rate ceiling."""

    def __init__(self, options: ImageOptions, store: MediaStore, now: datetime, processes: int) -> None:
        self.options = options
        self.processes = processes
        self.share = replace(options, concurrency=max(1, math.ceil(options.concurrency / processes)),
                             rate_per_host=options.rate_per_host / processes if options.rate_per_host else None)
        self._pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker, initargs=(self.share, store, now))
        self._requests = 0
        self._pace: dict[int, dict[str, dict[str, float | int]]] = {}  # worker pid -> its latest figures

    def fetch_all(self, urls: list[str]) -> Iterator[tuple[str, Outcome]]:
        batches = [urls[i:i + URLS_PER_BATCH] for i in range(0, len(urls), URLS_PER_BATCH)]
        for _batch, (pid, outcomes, requests, pace) in bounded_map(self._pool, _fetch_batch, batches,
                                                                   self.processes * BATCHES_PER_WORKER):
            self._requests += requests
            self._pace[pid] = pace
            yield from outcomes

    @property
    def requests_sent(self) -> int:
        return self._requests

    @property
    def worker_pids(self) -> set[int]:
        """The processes that fetched at least one batch."""
        return set(self._pace)

    def host_pace(self) -> dict[str, dict[str, float | int]]:
        return merge_pace(list(self._pace.values()))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class ImageDownloads:
    """Threads for a handful of URLs; the worker processes once a chunk brings enough to repay starting them."""

    def __init__(self, options: ImageOptions, store: MediaStore, now: datetime,
                 fetcher: ImageFetcher | None = None) -> None:
        self.options, self.store, self.now = options, store, now
        self._threads = ThreadFetching(options, store, now, fetcher)
        self._processes: ProcessFetching | None = None
        self._may_use_processes = options.processes > 0 and fetcher is None

    def fetch_all(self, urls: list[str]) -> Iterator[tuple[str, Outcome]]:
        if self._may_use_processes and (self._processes is not None or len(urls) >= PROCESSES_FROM_URLS):
            if self._processes is None:
                self._processes = ProcessFetching(self.options, self.store, self.now, self.options.processes)
            return self._processes.fetch_all(urls)
        return self._threads.fetch_all(urls)

    @property
    def requests_sent(self) -> int:
        return self._threads.requests_sent + (self._processes.requests_sent if self._processes else 0)

    @property
    def worker_pids(self) -> set[int]:
        """The worker processes that fetched at least one batch (empty when every chunk stayed in threads)."""
        return self._processes.worker_pids if self._processes else set()

    def host_pace(self) -> dict[str, dict[str, float | int]]:
        return merge_pace([self._threads.host_pace(), *([self._processes.host_pace()] if self._processes else [])])

    def close(self) -> None:
        self._threads.close()
        if self._processes is not None:
            self._processes.close()


def merge_pace(senders: list[dict[str, dict[str, float | int]]]) -> dict[str, dict[str, float | int]]:
    """Per host, the figures of senders that ran side by side: rates, answers, paces and windows added up."""
    merged: dict[str, dict[str, float | int]] = {}
    for figures in senders:
        for host, pace in figures.items():
            into = merged.setdefault(host, {"mean_rate": 0.0, "peak_rate": 0.0, "answers": 0, "throttled": 0,
                                            "pace": 0.0, "window": 0, "faults": 0, "senders": 0})
            for key in ("mean_rate", "peak_rate", "answers", "throttled", "pace", "window", "faults"):
                into[key] += pace.get(key, 0)
            into["senders"] += int(pace.get("senders", 1))
    return {host: {key: round(value, 1) if isinstance(value, float) else value for key, value in pace.items()}
            for host, pace in merged.items()}


_worker: dict[str, Any] = {}  # this worker process's fetcher, thread pool and options


IMAGE_NICENESS = 5  # worker processes yield the CPU to the run's process: the gateway calls keep their pace


def _start_worker(options: ImageOptions, store: MediaStore, now: datetime) -> None:
    import os

    try:
        os.nice(IMAGE_NICENESS)
    except OSError:
        pass  # not allowed here: equal priority

    _worker.update(options=options, store=store, now=now, pid=os.getpid(), sent=0,
                   fetcher=ImageFetcher(options.policy, options.limits, rate_per_host=options.rate_per_host,
                                        pool_size=options.concurrency),
                   threads=ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="image-fetch"))


def _fetch_batch(urls: list[str]) -> tuple[int, list[tuple[str, Outcome]], int, dict[str, dict[str, float | int]]]:
    fetcher: ImageFetcher = _worker["fetcher"]
    store, now, max_pixels = _worker["store"], _worker["now"], _worker["options"].max_pixels
    outcomes = list(zip(urls, _worker["threads"].map(lambda url: fetch_image(fetcher, store, url, max_pixels, now),
                                                     urls), strict=True))
    sent, _worker["sent"] = fetcher.requests_sent - _worker["sent"], fetcher.requests_sent
    return _worker["pid"], outcomes, sent, fetcher.politeness.figures()
