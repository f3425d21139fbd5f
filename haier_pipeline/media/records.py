"""The catalog side of the images pass: which URLs and contents are already stored, and recording new ones.

Reads are keyed and set-based (one ``SELECT … IN`` per chunk). The write for a chunk of
products happens in one transaction: dangling rows removed, new ``media_images`` rows
inserted, ``products.main_images``/``detail_images`` set — so a product never points at a
row that is not there, and a row is only ever written after its file is on disk.

``media_images.file`` is unique, so identical bytes behind two URLs share one file and one
row; the row names the URL listed first, and ``media_image_urls`` maps every URL fetched to its
row, so on the next pass neither URL is downloaded again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Row, delete, select

from haier_pipeline.catalog.bulk import chunked
from haier_pipeline.catalog.counts import WriteCounts
from haier_pipeline.catalog.images import (
    forget_rejected_urls,
    insert_media_images,
    map_image_urls,
    record_rejected_urls,
    set_product_images_bulk,
    url_digest,
)
from haier_pipeline.catalog.raw_read import iter_raw_products
from haier_pipeline.catalog.tables import media_image_urls, media_images, products
from haier_pipeline.haier_api.parsing import MalformedRecord, parse_product

from .validate import ImageFacts


@dataclass(frozen=True)
class StoredImage:
    """One ``media_images`` row as the images pass needs it."""

    id: int
    file: str
    original_url: str | None
    sha256: str | None


@dataclass(frozen=True)
class ProductImages:
    """A Haier product's image URLs (main first, then page images) and its current stored lists."""

    product_code: str
    main_urls: tuple[str, ...]
    page_urls: tuple[str, ...]
    main_images: tuple[str, ...]
    detail_images: tuple[str, ...]


def _urls(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(item.strip() for item in items if isinstance(item, str) and item.strip()))


def _product(row: Row[Any]) -> ProductImages:
    return ProductImages(
        row.product_code, _urls(row.product_image_url), _urls(row.product_page_urls or []),
        tuple(row.main_images or ()), tuple(row.detail_images or ()),
    )


_PRODUCT_COLUMNS = (
    products.c.id, products.c.product_code, products.c.product_image_url, products.c.product_page_urls,
    products.c.main_images, products.c.detail_images,
)


def haier_product_pages(
    conn_factory: Callable[[], AbstractContextManager[Connection]], codes: Sequence[str] | None, size: int
) -> Iterator[list[ProductImages]]:
    """Haier products in chunks (keyset pages by id, or the given codes), each page read in its own transaction."""
    if codes is not None:
        for chunk in chunked(list(dict.fromkeys(codes)), size):
            with conn_factory() as conn:
                rows = conn.execute(
                    select(*_PRODUCT_COLUMNS).where(products.c.source == "haier", products.c.product_code.in_(chunk))
                    .order_by(products.c.id)
                ).all()
            if rows:
                yield [_product(row) for row in rows]
        return
    last_id = 0
    while True:
        with conn_factory() as conn:
            rows = conn.execute(
                select(*_PRODUCT_COLUMNS).where(products.c.source == "haier", products.c.id > last_id)
                .order_by(products.c.id).limit(size)
            ).all()
        if not rows:
            return
        last_id = rows[-1].id
        yield [_product(row) for row in rows]


def listing_product_pages(
    conn_factory: Callable[[], AbstractContextManager[Connection]], codes: Sequence[str] | None, size: int
) -> Iterator[list[ProductImages]]:
    """The image URLs of the latest stored listing (or of ``codes`` in it), before any product row exists.

    Streamed: the listing is read ``size`` payloads at a time, each read its own short transaction (keyset on the
    product code), and a chunk is handed on as soon as it is full, so neither the listing nor a connection is
    held while the caller downloads. Records that do not parse are left out here; the ``products`` asset names
    them in its sync log.
    """
    wanted = set(codes) if codes is not None else None
    found: list[ProductImages] = []
    after, index = "", 0
    while True:
        with conn_factory() as conn:
            batch = list(islice(iter_raw_products(conn, after=after, page_size=size), size))
        for code, payload in batch:
            index += 1
            if wanted is not None and code not in wanted:
                continue
            try:
                record = parse_product(payload, index - 1)
            except MalformedRecord:
                continue
            found.append(ProductImages(record.product_code, _urls(record.image_url), _urls(list(record.page_urls)),
                                       (), ()))
        while len(found) >= size or (found and len(batch) < size):
            yield found[:size]
            found = found[size:]
        if len(batch) < size:
            return
        after = batch[-1][0]


def stored_by_url(conn: Connection, urls: Collection[str]) -> dict[str, list[StoredImage]]:
    """The row each URL was last stored as (through ``media_image_urls``), as a one-item list."""
    by_digest = {url_digest(url): url for url in urls}
    found: dict[str, list[StoredImage]] = {}
    query = select(media_image_urls.c.url_sha256, media_images.c.id, media_images.c.file, media_images.c.original_url,
                   media_images.c.sha256).join(media_images, media_images.c.id == media_image_urls.c.media_image_id)
    for chunk in chunked(list(by_digest)):
        for row in conn.execute(query.where(media_image_urls.c.url_sha256.in_(chunk))):
            found[by_digest[row.url_sha256]] = [StoredImage(row.id, row.file, row.original_url, row.sha256)]
    return found


def stored_by_sha(conn: Connection, digests: Collection[str]) -> dict[str, list[StoredImage]]:
    """Every row holding each content digest, oldest first."""
    found: dict[str, list[StoredImage]] = {}
    for chunk in chunked(list(digests)):
        query = select(media_images.c.id, media_images.c.file, media_images.c.original_url, media_images.c.sha256)
        for row in conn.execute(query.where(media_images.c.sha256.in_(chunk)).order_by(media_images.c.id)):
            found.setdefault(row.sha256, []).append(StoredImage(row.id, row.file, row.original_url, row.sha256))
    return found


def media_row(file: str, url: str, facts: ImageFacts, now: datetime) -> dict[str, object]:
    return {
        "file": file, "original_url": url, "content_type": facts.content_type, "size": facts.size,
        "width": facts.width, "height": facts.height, "sha256": facts.sha256, "created_at": now,
    }


def record_chunk(
    conn: Connection,
    new_rows: Sequence[dict[str, object]],
    dangling_ids: Collection[int],
    lists: Sequence[tuple[str, Sequence[str], Sequence[str]]],
    now: datetime,
    fetched: Mapping[str, str] | None = None,
    rejected: Sequence[tuple[str, str, str]] = (),
    run_id: str | None = None,
) -> WriteCounts:
    """One chunk's outcome, in the caller's transaction: drop rows whose file vanished, add new rows,
    map the URLs ``fetched`` this pass to their files (no longer failing), remember the ``rejected``
    ``(url, reason, detail)``, set product lists."""
    for chunk in chunked(sorted(dangling_ids)):
        conn.execute(delete(media_images).where(media_images.c.id.in_(chunk)))
    insert_media_images(conn, new_rows)
    map_image_urls(conn, fetched or {})
    forget_rejected_urls(conn, (fetched or {}).keys())
    record_rejected_urls(conn, rejected, run_id, now)
    return set_product_images_bulk(conn, lists, now)
