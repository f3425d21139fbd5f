"""Image files under the media root: ``images/YYYY/MM/DD/<uuid4 hex>.<ext>``, written atomically, never overwritten.

The folder's date is the day in the media time zone (``HAIER_MEDIA_TIMEZONE``, default ``Asia/Shanghai``, as
Django's ``upload_to='images/%Y/%m/%d/'`` dates a shop's uploads in its own zone), not in UTC.

A write goes to a hidden temporary file in the target folder, is flushed and fsynced, then
hard-linked to its final name (which fails rather than replace an existing file) and the
temporary name removed; the folder is fsynced so the new name survives a power cut. A crash
at any point leaves either nothing, or a complete file no row refers to yet (cleanup finds
it), or a ``.tmp-*`` file that nothing can refer to. Names come from ``uuid4`` and the
decoded format only: nothing from the image URL ever reaches a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from haier_pipeline.constants import TIMEZONE

from .space import ensure_free_space
from .validate import EXTENSIONS

IMAGES_DIR = "images"
TEMP_PREFIX = ".tmp-"
RELATIVE_PATH = re.compile(
    r"^images/(\d{4})/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/[0-9a-f]{32}\.(" + "|".join(sorted(EXTENSIONS)) + r")$"
)


class UnsafePath(ValueError):
    """A stored path that is not one this store could have written (never resolved, never deleted)."""


class MediaStore:
    """Reads and writes image files under one media root."""

    def __init__(self, root: Path | str, min_free_bytes: int = 0, timezone: str = TIMEZONE) -> None:
        self.root = Path(root).resolve()
        self.min_free_bytes = min_free_bytes  # HAIER_MEDIA_MIN_FREE_BYTES: writes that would go under it are refused
        self.timezone = ZoneInfo(timezone)  # HAIER_MEDIA_TIMEZONE: the zone whose calendar day names the folder

    def ensure_room(self, about_to_write: int) -> None:
        """:class:`~haier_pipeline.media.space.DiskSpaceLow` unless ``about_to_write`` bytes leave the minimum free."""
        if self.min_free_bytes:
            ensure_free_space(self.root, self.min_free_bytes, about_to_write)

    def new_relative_path(self, extension: str, now: datetime) -> str:
        if extension not in EXTENSIONS:
            raise ValueError(f"refusing extension {extension!r}")
        day = now.astimezone(self.timezone)
        return f"{IMAGES_DIR}/{day:%Y/%m/%d}/{uuid.uuid4().hex}.{extension}"

    def path_of(self, relative: str) -> Path:
        """The absolute path of a stored relative path; :class:`UnsafePath` for anything else."""
        if not isinstance(relative, str) or not RELATIVE_PATH.match(relative):
            raise UnsafePath(f"not a stored image path: {relative!r}")
        return self.root / relative

    def exists(self, relative: str) -> bool:
        try:
            return self.path_of(relative).is_file()
        except UnsafePath:
            return False

    def write(self, data: bytes, extension: str, now: datetime, *, sync_dir: bool = True) -> str:
        """Store ``data`` under a fresh name and return its relative path.

        With ``sync_dir=False`` the caller must call :meth:`sync_dirs` before recording the path.
        """
        self.ensure_room(len(data))
        while True:
            relative = self.new_relative_path(extension, now)
            final = self.root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=final.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(temp, final)
                except FileExistsError:
                    continue  # a uuid4 collision: pick another name
                except OSError:
                    # Filesystems without hard links: the existence check then replace is the best available.
                    if final.exists():
                        continue
                    os.replace(temp, final)
            finally:
                if os.path.lexists(temp):
                    os.unlink(temp)
            if sync_dir:
                _fsync_dir(final.parent)
            return relative

    def sync_dirs(self, relatives: Iterable[str]) -> None:
        """fsync each folder holding one of ``relatives`` once, so their new names survive a power cut."""
        for folder in sorted({(self.root / relative).parent for relative in relatives}):
            _fsync_dir(folder)

    def delete(self, relative: str) -> bool:
        """Remove one stored file; False when it was already gone."""
        try:
            self.path_of(relative).unlink()
            return True
        except FileNotFoundError:
            return False

    def iter_files(self) -> Iterator[tuple[str, Path]]:
        """Every file under ``images/`` as (relative path, absolute path), temporary files included."""
        base = self.root / IMAGES_DIR
        if not base.is_dir():
            return
        for folder, _dirs, files in os.walk(base):
            for name in files:
                path = Path(folder) / name
                yield path.relative_to(self.root).as_posix(), path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
