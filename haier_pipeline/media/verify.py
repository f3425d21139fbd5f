"""Compare every ``media_images`` row with the file it names: present, same size, same sha256.

Used by the ``image_files_match_sha256`` check. Files are read in chunks (images can be megabytes), and a path that
would resolve outside the media root is reported, never opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, select

from haier_pipeline.catalog import tables

from .store import sha256_file


@dataclass
class ImageFileReport:
    """What the comparison found; ``problems`` names each bad row."""

    checked: int = 0
    missing: int = 0
    mismatched: int = 0
    bytes_hashed: int = 0
    problems: list[str] = field(default_factory=list)


def verify_image_files(conn: Connection, media_root: Path) -> ImageFileReport:
    """Check each stored image row against its file under ``media_root``."""
    root = media_root.resolve()
    report = ImageFileReport()
    rows = conn.execute(select(tables.media_images.c.id, tables.media_images.c.file,
                               tables.media_images.c.sha256, tables.media_images.c.size))
    for image_id, relative, expected_sha, expected_size in rows:
        report.checked += 1
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            report.mismatched += 1
            report.problems.append(f"image {image_id}: {relative!r} points outside the media root")
            continue
        if not path.is_file():
            report.missing += 1
            report.problems.append(f"image {image_id}: {relative} is missing")
            continue
        actual_sha, actual_size = sha256_file(path), path.stat().st_size
        report.bytes_hashed += actual_size
        if not expected_sha or actual_sha != expected_sha.lower():
            report.mismatched += 1
            report.problems.append(f"image {image_id}: {relative} sha256 {actual_sha[:12]}… ≠ stored "
                                   f"{str(expected_sha)[:12]}…")
        elif expected_size is not None and actual_size != expected_size:
            report.mismatched += 1
            report.problems.append(f"image {image_id}: {relative} has {actual_size} bytes, stored {expected_size}")
    return report
