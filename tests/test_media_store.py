"""Stored files: safe generated names, atomic writes, never an overwrite, nothing half-written left behind."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from haier_pipeline.media.store import RELATIVE_PATH, MediaStore, UnsafePath, sha256_file

NOW = datetime(2025, 7, 9, 23, 30, tzinfo=UTC)


def test_paths_follow_the_original_naming(tmp_path) -> None:
    store = MediaStore(tmp_path)
    relative = store.write(b"abc", "png", NOW)
    assert RELATIVE_PATH.match(relative) and relative.endswith(".png")
    assert (tmp_path / relative).read_bytes() == b"abc"
    assert sha256_file(tmp_path / relative) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_an_image_stored_at_23_30_utc_lands_under_the_next_days_folder(tmp_path) -> None:
    assert MediaStore(tmp_path).write(b"x", "jpg", NOW).startswith("images/2025/07/10/")  # 07:30 in Shanghai


@pytest.mark.parametrize("zone, day", [("UTC", "2025/07/09"), ("America/New_York", "2025/07/09"),
                                       ("Asia/Tokyo", "2025/07/10")])
def test_the_day_folder_follows_the_configured_zone_whatever_the_caller_zone(tmp_path, zone: str, day: str) -> None:
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    assert MediaStore(tmp_path, timezone=zone).write(b"x", "jpg", shanghai).startswith(f"images/{day}/")


def test_an_existing_file_is_never_overwritten(tmp_path, monkeypatch) -> None:
    store = MediaStore(tmp_path)
    fixed = uuid.UUID("0123456789abcdef0123456789abcdef")
    names = iter([fixed, fixed, uuid.UUID(int=7)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(names))
    first = store.write(b"first", "gif", NOW)
    second = store.write(b"second", "gif", NOW)  # same uuid drawn: a new name is picked instead
    assert first != second
    assert (tmp_path / first).read_bytes() == b"first" and (tmp_path / second).read_bytes() == b"second"


def test_a_write_that_fails_midway_leaves_no_file_and_no_temp(tmp_path, monkeypatch) -> None:
    store = MediaStore(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        store.write(b"x" * 100_000, "jpg", NOW)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("path", [
    "../etc/passwd", "images/../../etc/passwd", "/etc/passwd", "images/2025/07/09/../../../../x.jpg",
    "images/2025/07/09/0123456789abcdef0123456789abcdef.exe", "images/2025/13/09/0123456789abcdef0123456789abcdef.jpg",
    "images\\2025\\07\\09\\0123456789abcdef0123456789abcdef.jpg", "", "images/2025/07/09/.tmp-x.part",
])
def test_only_paths_this_store_writes_are_ever_resolved(tmp_path, path: str) -> None:
    store = MediaStore(tmp_path)
    with pytest.raises(UnsafePath):
        store.path_of(path)
    assert not store.exists(path)


def test_refuses_to_write_an_extension_it_does_not_produce(tmp_path) -> None:
    with pytest.raises(ValueError):
        MediaStore(tmp_path).write(b"x", "php", NOW)
