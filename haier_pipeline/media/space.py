"""Free space on the media volume, checked before images are written (存储空间不足 → 图片上传失败).

The images step stops with :class:`DiskSpaceLow` instead of filling the disk: it is checked
before the first file and again before every file (a ``statvfs`` is cheap next to a download).
"""

from __future__ import annotations

import shutil
from pathlib import Path


class DiskSpaceLow(OSError):
    """The media volume has less free space than ``HAIER_MEDIA_MIN_FREE_BYTES`` (plus what is about to be written)."""

    def __init__(self, folder: Path, free: int, needed: int, minimum: int) -> None:
        self.folder, self.free, self.needed, self.minimum = folder, free, needed, minimum
        super().__init__(
            f"media volume low on space: {free:,} bytes free at {folder}, "
            f"{needed:,} more to write, HAIER_MEDIA_MIN_FREE_BYTES={minimum:,}; images not written"
        )

    def __reduce__(self) -> tuple[type[DiskSpaceLow], tuple[Path, int, int, int]]:
        return DiskSpaceLow, (self.folder, self.free, self.needed, self.minimum)  # raised in a download worker


def free_bytes(folder: Path) -> int:
    """Free bytes for an unprivileged writer on the volume holding ``folder`` (its nearest existing parent)."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def ensure_free_space(folder: Path, minimum: int, about_to_write: int = 0) -> int:
    """The free bytes; :class:`DiskSpaceLow` if writing ``about_to_write`` would leave less than ``minimum``."""
    free = free_bytes(folder)
    if free - about_to_write < minimum:
        raise DiskSpaceLow(Path(folder), free, about_to_write, minimum)
    return free
