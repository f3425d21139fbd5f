"""Localised image references: ``products.main_images``/``detail_images`` and ``media_images`` rows.

Deliberately small: the image pipeline (``haier_pipeline.media``) decides what to download
and store; this module only records the outcome, set-based like every other writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from .bulk import chunked, fetch_by_keys, last_by_key, update_rows
from .counts import WriteCounts
from .tables import media_image_urls, media_images, media_rejected_urls, products

IMAGE_COLUMNS = ("main_images", "detail_images")


def set_product_images_bulk(
    conn: Connection, items: Iterable[tuple[str, Sequence[str], Sequence[str]]], now: datetime | None = None
) -> WriteCounts:
    """Set ``(product_code, main, detail)`` image lists on Haier products; unchanged lists write nothing.

    ``skipped`` counts local products and unknown codes.
    """
    now = now or datetime.now(UTC)
    counts = WriteCounts()
    for chunk in chunked(items):
        latest = last_by_key(chunk, lambda item: item[0])
        current = fetch_by_keys(conn, products, "product_code", latest, ("id", "source", *IMAGE_COLUMNS))
        updates, unchanged, skipped = [], 0, 0
        for code, (_, main, detail) in latest.items():
            old = current.get(code)
            if old is None or old.source != "haier":
                skipped += 1
            elif old.main_images != list(main) or old.detail_images != list(detail):
                updates.append({"id": old.id, "main_images": list(main), "detail_images": list(detail),
                                "updated_at": now})
            else:
                unchanged += 1
        update_rows(conn, products, "id", updates, (*IMAGE_COLUMNS, "updated_at"))
        counts += WriteCounts(0, len(updates), unchanged, 0, skipped)
    return counts


def set_product_images(
    conn: Connection, product_code: str, main: Sequence[str], detail: Sequence[str], now: datetime | None = None
) -> bool:
    """Set one Haier product's image lists; True when the row changed."""
    return set_product_images_bulk(conn, [(product_code, main, detail)], now).updated == 1


def insert_media_images(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``media_images`` rows (keys are its column names) and return their ids, in input order."""
    ids: list[int] = []
    statement = media_images.insert().returning(media_images.c.id, sort_by_parameter_order=True)
    for chunk in chunked(rows):
        ids.extend(conn.execute(statement, [dict(row) for row in chunk]).scalars())
    return ids


def url_digest(url: str) -> str:
    """The key of a URL in ``media_image_urls``."""
    return hashlib.sha256(url.encode()).hexdigest()


def map_image_urls(conn: Connection, url_files: Mapping[str, str]) -> int:
    """Point each URL at the ``media_images`` row holding ``file`` (replacing what it pointed at); rows written."""
    if not url_files:
        return 0
    ids: dict[str, int] = {}
    for chunk in chunked(sorted(set(url_files.values()))):
        ids.update((row.file, row.id) for row in conn.execute(
            select(media_images.c.id, media_images.c.file).where(media_images.c.file.in_(chunk))))
    rows = [{"url_sha256": url_digest(url), "url": url, "media_image_id": ids[file]}
            for url, file in url_files.items() if file in ids]
    for batch in chunked(rows):
        digests = [row["url_sha256"] for row in batch]
        conn.execute(delete(media_image_urls).where(media_image_urls.c.url_sha256.in_(digests)))
        conn.execute(media_image_urls.insert(), batch)
    return len(rows)


def record_rejected_urls(conn: Connection, rejected: Sequence[tuple[str, str, str]], run_id: str | None,
                         now: datetime) -> None:
    """Remember ``(url, reason, detail)`` as each URL's latest rejection (replacing an older one)."""
    rows = {url_digest(url): {"url_sha256": url_digest(url), "url": url, "reason": reason, "detail": detail,
                              "run_id": run_id, "rejected_at": now} for url, reason, detail in rejected}
    for batch in chunked(list(rows.values())):
        conn.execute(delete(media_rejected_urls).where(
            media_rejected_urls.c.url_sha256.in_([row["url_sha256"] for row in batch])))
        conn.execute(media_rejected_urls.insert(), batch)


def forget_rejected_urls(conn: Connection, urls: Iterable[str]) -> None:
    """These URLs were fetched intact: they are no longer failing."""
    for chunk in chunked(sorted({url_digest(url) for url in urls})):
        conn.execute(delete(media_rejected_urls).where(media_rejected_urls.c.url_sha256.in_(chunk)))


def rejected_in_run(conn: Connection, urls: Iterable[str], run_id: str) -> dict[str, tuple[str, str]]:
    """``url -> (reason, detail)`` for the URLs that run ``run_id`` has already rejected."""
    by_digest = {url_digest(url): url for url in urls}
    found: dict[str, tuple[str, str]] = {}
    table = media_rejected_urls
    for chunk in chunked(list(by_digest)):
        query = select(table.c.url_sha256, table.c.reason, table.c.detail).where(
            table.c.url_sha256.in_(chunk), table.c.run_id == run_id)
        found.update((by_digest[row.url_sha256], (row.reason, row.detail)) for row in conn.execute(query))
    return found
