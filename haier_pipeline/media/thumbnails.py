"""Tiny inline previews of stored images for the Dagster UI's markdown metadata.

Each preview is a ~64 px JPEG embedded as a ``data:`` URI, a few kilobytes, so the
materialization event stays small and the UI needs no access to the media folder.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from io import BytesIO

from PIL import Image

from .store import MediaStore, UnsafePath

THUMBNAIL_PX = 64


def thumbnail_data_uri(store: MediaStore, relative: str, size: int = THUMBNAIL_PX) -> str | None:
    """A ``data:image/jpeg;base64,…`` preview of one stored file, or None when it cannot be read."""
    try:
        with Image.open(store.path_of(relative)) as image:
            image.seek(0)
            image.thumbnail((size, size))
            out = BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=70)
    except (OSError, UnsafePath, ValueError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def thumbnails_markdown(store: MediaStore, paths: Iterable[str], limit: int = 4) -> str:
    """A markdown row of up to ``limit`` previews (duplicates skipped), each titled with its stored path."""
    cells = []
    for relative in dict.fromkeys(paths):
        uri = thumbnail_data_uri(store, relative)
        if uri is not None:
            cells.append(f"![{relative}]({uri})")
        if len(cells) >= limit:
            break
    return " ".join(cells) if cells else "_no images stored yet_"
