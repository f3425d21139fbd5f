"""The images pass: for every Haier product, make its image URLs local files, downloading each image at most once.

Per chunk of products: URLs already recorded whose file still exists are reused without a
request; the rest are downloaded and validated by worker processes (``workers.py``: each with
its threads, its share of the per-host politeness); the step's thread alone writes files, so identical bytes are
never written twice (a digest already stored, in this run or before, is reused). Then one
transaction records the chunk's new rows and the products' image lists. A rejected image is
counted with its reason and left out of the product's lists; it never stops the pass.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Connection

from haier_pipeline.catalog.counts import WriteCounts

from .fetch import Download, ImageFetcher
from .options import ImageOptions
from .records import (
    ProductImages,
    StoredImage,
    haier_product_pages,
    listing_product_pages,
    media_row,
    record_chunk,
    stored_by_sha,
    stored_by_url,
)
from .rejections import ImageRejected, Rejection
from .store import MediaStore
from .validate import ImageFacts
from .workers import ImageDownloads, Outcome

PRODUCTS_PER_CHUNK = 200
PENDING_BYTES = 32 * 1024 * 1024  # downloaded-but-unwritten bytes held before a flush
WRITER_THREADS = 4


class Catalog(Protocol):
    def begin(self) -> AbstractContextManager[Connection]: ...


@dataclass
class LocaliseReport:
    """What one pass did; every URL lands in exactly one of reused, downloaded, deduplicated, rejected."""

    products_seen: int = 0
    urls_seen: int = 0
    reused: int = 0
    downloaded: int = 0
    deduplicated: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    kept_after_failed_recheck: int = 0
    bytes_downloaded: int = 0
    bytes_written: int = 0
    http_requests: int = 0
    dangling_rows_removed: int = 0
    product_writes: WriteCounts = field(default_factory=WriteCounts)
    new_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    host_pace: dict[str, dict[str, float | int]] = field(default_factory=dict)  # politeness figures per image host

    @property
    def rate_reached(self) -> float:
        """The fastest image host's answers per second over the pass."""
        return max((float(pace["mean_rate"]) for pace in self.host_pace.values()), default=0.0)

    @property
    def fetched(self) -> int:
        """Images that arrived intact over the network this pass."""
        return self.downloaded + self.deduplicated

    def rejected_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(r.reason for r in self.rejected).items()))


def localise_images(
    catalog: Catalog, store: MediaStore, options: ImageOptions, *, product_codes: Sequence[str] | None = None,
    recheck: bool = False, now: datetime | None = None, fetcher: ImageFetcher | None = None,
    chunk_size: int = PRODUCTS_PER_CHUNK, from_listing: bool = False,
) -> LocaliseReport:
    """Localise the images of Haier products (all, or ``product_codes``); see the module docstring.

    Downloads run in ``options.processes`` worker processes (:mod:`.workers`), or in threads of this
    process when that is 0 or a ``fetcher`` is given (tests). With ``from_listing`` the URLs come from the
    latest stored listing and only files, ``media_images`` and the URL map are written (``image_files``:
    the product rows may not exist yet); ``product_images`` then links them to the rows without a request.
    """
    now = now or datetime.now(UTC)
    started = time.monotonic()
    report = LocaliseReport()
    fetching = ImageDownloads(options, fetcher)
    try:
        with ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="image-write") as writers:
            run = _RunState(store, options, recheck, now, report, writers)
            pages = listing_product_pages if from_listing else haier_product_pages
            for chunk in pages(catalog.begin, product_codes, chunk_size):
                run.process(catalog, chunk, fetching.fetch_all, link_products=not from_listing)
    finally:
        fetching.close()
        report.http_requests = fetching.requests_sent
        report.host_pace = fetching.host_pace()
        report.seconds = time.monotonic() - started
    return report


class _RunState:
    """What one pass has learnt so far: URL -> stored path, URL -> rejection, digest -> stored path."""

    def __init__(self, store: MediaStore, options: ImageOptions, recheck: bool, now: datetime,
                 report: LocaliseReport, writers: ThreadPoolExecutor) -> None:
        self.store, self.options, self.recheck, self.now, self.report = store, options, recheck, now, report
        self.writers = writers
        self.resolved: dict[str, str] = {}
        self.refused: dict[str, Rejection] = {}
        self.by_digest: dict[str, str] = {}
        self.order: dict[str, int] = {}

    def process(self, catalog: Catalog, chunk: list[ProductImages],
                fetch_all: Callable[[list[str]], Iterator[tuple[str, Outcome]]], link_products: bool = True) -> None:
        report = self.report
        report.products_seen += len(chunk)
        urls = [u for p in chunk for u in (*p.main_urls, *p.page_urls)]
        fresh = [u for u in dict.fromkeys(urls) if u not in self.resolved and u not in self.refused]
        self.order = {url: index for index, url in enumerate(fresh)}
        report.urls_seen += len(fresh)
        with catalog.begin() as conn:
            known = stored_by_url(conn, fresh)
        to_fetch, fallback = [], {}
        dangling: set[int] = set()
        for url in fresh:
            rows = known.get(url, [])
            on_disk = {row.id: self.store.exists(row.file) for row in rows}
            present = next((row for row in rows if on_disk[row.id]), None)  # the newest row whose file is there
            dangling.update(row_id for row_id, found in on_disk.items() if not found)
            if present is not None and not self.recheck:
                self.resolved[url] = present.file
                report.reused += 1
                continue
            if present is not None:
                fallback[url] = present
            to_fetch.append(url)
        pending: list[tuple[str, Download, ImageFacts]] = []
        new_rows: list[dict[str, object]] = []
        pending_bytes = 0
        for url, outcome in fetch_all(to_fetch):
            if isinstance(outcome, ImageRejected):
                self._refuse(url, outcome, fallback.get(url))
                continue
            pending.append((url, *outcome))
            pending_bytes += outcome[1].size
            if pending_bytes >= PENDING_BYTES:
                new_rows += self._flush(catalog, pending)
                pending, pending_bytes = [], 0
        new_rows += self._flush(catalog, pending)
        lists = [(p.product_code, self._paths(p.main_urls), self._paths(p.page_urls)) for p in chunk] \
            if link_products else []
        fetched = {url: self.resolved[url] for url in to_fetch if url in self.resolved}
        with catalog.begin() as conn:
            report.product_writes += record_chunk(conn, new_rows, dangling, lists, self.now, fetched)
        report.dangling_rows_removed += len(dangling)

    def _paths(self, urls: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(self.resolved[u] for u in urls if u in self.resolved))

    def _refuse(self, url: str, rejection: ImageRejected, fallback: StoredImage | None) -> None:
        if fallback is not None:  # a re-check failed: keep serving the copy already stored
            self.resolved[url] = fallback.file
            self.report.kept_after_failed_recheck += 1
        else:
            self.refused[url] = Rejection(url, rejection.reason, rejection.detail)
            self.report.rejected.append(self.refused[url])

    def _flush(self, catalog: Catalog, pending: list[tuple[str, Download, ImageFacts]]) -> list[dict[str, object]]:
        """Write the pending downloads whose bytes are not stored yet (in parallel); return their new rows."""
        if not pending:
            return []
        digests = {facts.sha256 for _, _, facts in pending if facts.sha256 not in self.by_digest}
        with catalog.begin() as conn:
            stored = stored_by_sha(conn, digests) if digests else {}
        first_of: dict[str, tuple[str, Download, ImageFacts]] = {}
        # Listing order, not completion order, decides which URL a shared file's row names.
        ordered = sorted(pending, key=lambda item: self.order.get(item[0], 0))
        for url, download, facts in ordered:
            self.report.bytes_downloaded += facts.size
            if facts.sha256 in self.by_digest or facts.sha256 in first_of:
                continue
            existing = next((row.file for row in stored.get(facts.sha256, []) if self.store.exists(row.file)), None)
            if existing is not None:
                self.by_digest[facts.sha256] = existing
            else:
                first_of[facts.sha256] = (url, download, facts)
        # Refuse the whole batch up front when it would leave the volume under its minimum: no file half-written.
        self.store.ensure_room(sum(facts.size for _, _, facts in first_of.values()))
        # fsync dominates a small file's write: files are written by a few threads, folders synced once.
        paths = list(self.writers.map(lambda item: self.store.write(item[1].data, item[2].extension, self.now,
                                                                    sync_dir=False), first_of.values()))
        self.store.sync_dirs(paths)
        rows: list[dict[str, object]] = []
        for (url, _download, facts), path in zip(first_of.values(), paths, strict=True):
            rows.append(media_row(path, url, facts, self.now))
            self.by_digest[facts.sha256] = path
            self.report.new_files.append(path)
            self.report.bytes_written += facts.size
        self.report.downloaded += len(paths)
        self.report.deduplicated += len(pending) - len(paths)
        for url, _download, facts in ordered:
            self.resolved[url] = self.by_digest[facts.sha256]
        return rows
