"""Localised images into the shop: files under its MEDIA_ROOT, a media row each, and the products' image lists.

The files keep their catalogue paths (``images/YYYY/MM/DD/<uuid>.<ext>``), which is where
the shop's ``MediaImage.file`` expects them; they are hard-linked from the catalogue's media
root (copied when the two are on different file systems, nothing at all when the roots are
the same folder). ``main_images``/``detail_images`` list what the shop serves: its media URL
prefix plus the path. An image whose file is missing from the catalogue is left out and
counted, never published as a broken link. Re-running writes nothing new.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, select

from haier_pipeline.catalog.bulk import chunked, fetch_by_keys, insert_rows, update_rows
from haier_pipeline.catalog.writes import WriteCounts
from haier_pipeline.media.store import TEMP_PREFIX, MediaStore, UnsafePath

from .fit import Fitter
from .tables import ShopTables


@dataclass
class ImagePublish:
    """Files placed, media rows written, product image lists written, images missing (named)."""

    files_linked: int = 0
    files_copied: int = 0
    media_rows: int = 0
    products: WriteCounts = field(default_factory=WriteCounts)
    missing: list[str] = field(default_factory=list)


def place_file(source: MediaStore, target: MediaStore, relative: str) -> str | None:
    """Make ``relative`` exist under ``target``: ``"linked"``, ``"copied"``, or None when already there.

    Raises ``FileNotFoundError`` when the catalogue has no such file, :class:`UnsafePath` for a path
    the store could not have written.
    """
    src, dst = source.path_of(relative), target.path_of(relative)
    if dst.is_file():
        return None
    if not src.is_file():
        raise FileNotFoundError(relative)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return "linked"
    except FileExistsError:
        return None
    except OSError:
        pass  # another file system (or no hard links): copy, then rename into place atomically
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, temp)
        os.replace(temp, dst)
    finally:
        if os.path.lexists(temp):
            os.unlink(temp)
    return "copied"


def original_name(url: str | None, relative: str) -> str:
    """The image's file name as Haier served it (the stored name when the URL has none)."""
    name = unquote(urlsplit(url or "").path.rsplit("/", 1)[-1]) if url else ""
    return name or Path(relative).name


def served(prefix: str, relatives: Sequence[str]) -> list[str]:
    return [prefix + relative for relative in relatives]


def publish_images(
    conn: Connection, tables: ShopTables, rows: Sequence[Mapping[str, Any]], catalogue_media: Mapping[str, Mapping],
    source: MediaStore, target: MediaStore, media_url: str, fitter: Fitter, now: datetime,
) -> ImagePublish:
    """One chunk of catalogue products (``product_code``, ``main_images``, ``detail_images``) into the shop."""
    result = ImagePublish()
    media = tables.media
    same_root = source.root == target.root
    present: dict[str, bool] = {}
    for row in rows:
        for relative in [*(row["main_images"] or []), *(row["detail_images"] or [])]:
            if relative in present:
                continue
            try:
                if same_root and not source.exists(relative):
                    raise FileNotFoundError(relative)
                outcome = None if same_root else place_file(source, target, relative)
                present[relative] = True
            except (FileNotFoundError, UnsafePath):
                present[relative] = False
                result.missing.append(f"{row['product_code']}: {relative}")
                continue
            result.files_linked += outcome == "linked"
            result.files_copied += outcome == "copied"
    files = [relative for relative, ok in present.items() if ok]
    known: set[str] = set()
    for chunk in chunked(files):
        known.update(conn.execute(select(media.c.file).where(media.c.file.in_(chunk))).scalars())
    new_rows = []
    for relative in files:
        if relative in known:
            continue
        info = catalogue_media.get(relative, {})
        new_rows.append({
            "file": fitter.text(media.c.file, relative, relative),
            "original_name": fitter.text(media.c.original_name, original_name(info.get("original_url"), relative),
                                         relative),
            "content_type": fitter.text(media.c.content_type, info.get("content_type") or "", relative),
            "size": int(info.get("size") or (target.path_of(relative).stat().st_size)),
            "created_at": now,
        })
    insert_rows(conn, media, new_rows)
    result.media_rows = len(new_rows)
    result.products = _set_image_lists(conn, tables, rows, present, media_url, now)
    return result


def _set_image_lists(conn: Connection, tables: ShopTables, rows: Sequence[Mapping[str, Any]],
                     present: Mapping[str, bool], media_url: str, now: datetime) -> WriteCounts:
    product = tables.product
    wanted = {row["product_code"]: row for row in rows}
    current = fetch_by_keys(conn, product, "product_code", wanted, ("id", "source", "main_images", "detail_images"))
    updates, unchanged, skipped = [], 0, 0
    for code, row in wanted.items():
        old = current.get(code)
        if old is None or old.source != "haier":
            skipped += 1
            continue
        main = served(media_url, [p for p in row["main_images"] or [] if present.get(p)])
        detail = served(media_url, [p for p in row["detail_images"] or [] if present.get(p)])
        if old.main_images != main or old.detail_images != detail:
            updates.append({"id": old.id, "main_images": main, "detail_images": detail, "updated_at": now})
        else:
            unchanged += 1
    update_rows(conn, product, "id", updates, ("main_images", "detail_images", "updated_at"))
    return WriteCounts(0, len(updates), unchanged, 0, skipped)
