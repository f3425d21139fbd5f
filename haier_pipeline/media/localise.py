"""The images pass: for every Haier product, make its image URLs local files, downloading each image at most once.

Per chunk of products: URLs already recorded whose file still exists are reused without a
request; the rest are downloaded, validated and written by worker processes (``workers.py``:
each with its threads and its share of the per-host politeness). Identical bytes are stored
once: a file whose digest is already stored, in this run or before, is removed before any row
names it, and the stored one reused. Then one transaction records the chunk's new rows, the URL
map and the products' image lists. A rejected image is
counted with its reason and left out of the product's lists; it never stops the pass.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Connection

from haier_pipeline.catalog.counts import WriteCounts
from haier_pipeline.catalog.images import rejected_in_run

from .fetch import ImageFetcher
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
from .workers import ImageDownloads, Outcome, StoredDownload

PRODUCTS_PER_CHUNK = 200


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
    worker_processes: int = 0  # processes that downloaded (0: all in threads of the run's process)

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
    chunk_size: int = PRODUCTS_PER_CHUNK, from_listing: bool = False, run_id: str | None = None,
) -> LocaliseReport:
    """Localise the images of Haier products (all, or ``product_codes``); see the module docstring.

    Downloads run in ``options.processes`` worker processes (:mod:`.workers`), or in threads of this
    process when that is 0 or a ``fetcher`` is given (tests). With ``from_listing`` the URLs come from the
    latest stored listing and only files, ``media_images`` and the URL map are written (``image_files``:
    the product rows may not exist yet); ``product_images`` then links them to the rows without a request.
    Rejections are remembered in ``media_rejected_urls`` under ``run_id``; a URL this run already
    rejected is reported rejected again without a request.
    """
    now = now or datetime.now(UTC)
    started = time.monotonic()
    report = LocaliseReport()
    fetching = ImageDownloads(options, store, now, fetcher)
    try:
        run = _RunState(store, options, recheck, now, report, run_id)
        pages = listing_product_pages if from_listing else haier_product_pages
        for chunk in pages(catalog.begin, product_codes, chunk_size):
            run.process(catalog, chunk, fetching.fetch_all, link_products=not from_listing)
    finally:
        fetching.close()
        report.http_requests = fetching.requests_sent
        report.host_pace = fetching.host_pace()
        report.worker_processes = len(fetching.worker_pids)
        report.seconds = time.monotonic() - started
    return report


class _RunState:
    """What one pass has learnt so far: URL -> stored path, URL -> rejection, digest -> stored path."""

    def __init__(self, store: MediaStore, options: ImageOptions, recheck: bool, now: datetime,
                 report: LocaliseReport, run_id: str | None) -> None:
        self.store, self.options, self.recheck, self.now, self.report = store, options, recheck, now, report
        self.run_id = run_id
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
            earlier = rejected_in_run(conn, fresh, self.run_id) if self.run_id else {}
        to_fetch, fallback = [], {}
        dangling: set[int] = set()
        refused_before = len(report.rejected)
        for url in fresh:
            if url in earlier and url not in known:  # this run already asked, and was refused: not again
                self.refused[url] = Rejection(url, *earlier[url])
                report.rejected.append(self.refused[url])
                continue
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
        pending: list[StoredDownload] = []
        for url, outcome in fetch_all(to_fetch):
            if isinstance(outcome, ImageRejected):
                self._refuse(url, outcome, fallback.get(url))
            else:
                pending.append(outcome)
        new_rows = self._flush(catalog, pending)
        lists = [(p.product_code, self._paths(p.main_urls), self._paths(p.page_urls)) for p in chunk] \
            if link_products else []
        fetched = {url: self.resolved[url] for url in to_fetch if url in self.resolved}
        rejected = [(r.url, r.reason, r.detail) for r in report.rejected[refused_before:] if r.url not in earlier]
        with catalog.begin() as conn:
            report.product_writes += record_chunk(conn, new_rows, dangling, lists, self.now, fetched, rejected,
                                                  self.run_id)
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

    def _flush(self, catalog: Catalog, pending: list[StoredDownload]) -> list[dict[str, object]]:
        """Keep one file per content digest among the files just written; return the rows of the kept new ones."""
        if not pending:
            return []
        digests = {item.facts.sha256 for item in pending if item.facts.sha256 not in self.by_digest}
        with catalog.begin() as conn:
            stored = stored_by_sha(conn, digests) if digests else {}
        first_of: dict[str, StoredDownload] = {}
        copies: list[str] = []
        # Listing order, not completion order, decides which URL (and which copy) a shared file's row names.
        ordered = sorted(pending, key=lambda item: self.order.get(item.url, 0))
        for item in ordered:
            sha = item.facts.sha256
            self.report.bytes_downloaded += item.facts.size
            if sha in self.by_digest or sha in first_of:
                copies.append(item.file)
                continue
            existing = next((row.file for row in stored.get(sha, []) if self.store.exists(row.file)), None)
            if existing is not None:
                self.by_digest[sha] = existing
                copies.append(item.file)
            else:
                first_of[sha] = item
        for copy in copies:  # identical bytes already stored: no row ever names this copy
            self.store.delete(copy)
        self.store.sync_dirs(item.file for item in first_of.values())  # the new names survive a power cut
        rows: list[dict[str, object]] = []
        for item in first_of.values():
            rows.append(media_row(item.file, item.url, item.facts, self.now))
            self.by_digest[item.facts.sha256] = item.file
            self.report.new_files.append(item.file)
            self.report.bytes_written += item.facts.size
        self.report.downloaded += len(first_of)
        self.report.deduplicated += len(pending) - len(first_of)
        for item in ordered:
            self.resolved[item.url] = self.by_digest[item.facts.sha256]
        return rows
