"""Find, and on request delete, localised images that no product references any more.

Candidates are (a) ``media_images`` rows written by the images pass (``original_url`` set)
whose file no product lists, (b) rows whose file has vanished, (c) files under ``images/``
with no row at all (left by a pass killed between writing a file and committing its row),
and (d) temporary ``.tmp-*`` files. Files without a row and temporary files are touched only
when older than a grace period, so a pass still running is never robbed of a file it is
about to record. Rows uploaded by the shop itself (no ``original_url``) are never candidates.

Deleting re-checks the references inside the deleting transaction, deletes the rows first and
the files after the commit: a crash in between leaves unreferenced files (found next time),
never a row pointing at a missing file. :func:`delete_unused` surveys and deletes under the
images pass's lock, so no pass can pick a file for reuse between the survey and the delete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select

from haier_pipeline.catalog.bulk import chunked
from haier_pipeline.catalog.locks import ACQUIRE_WAIT, IMAGES_LOCK, SyncBusy, sync_lock
from haier_pipeline.catalog.tables import media_images, products

from .localise import Catalog
from .store import TEMP_PREFIX, MediaStore, UnsafePath

DEFAULT_GRACE = timedelta(hours=1)


@dataclass
class CleanupPlan:
    """What a cleanup would remove, and what it found broken but cannot fix."""

    unreferenced_rows: list[tuple[int, str]] = field(default_factory=list)  # (id, file)
    dangling_rows: list[tuple[int, str]] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    missing_referenced: list[str] = field(default_factory=list)
    reclaimable_bytes: int = 0

    @property
    def candidates(self) -> int:
        return len(self.unreferenced_rows) + len(self.dangling_rows) + len(self.orphan_files) + len(self.temp_files)


class ImagesPassRunning(RuntimeError):
    """An images pass holds the images lock: deleting now could remove a file it is about to record."""

    def __init__(self, busy: SyncBusy) -> None:
        who = busy.holder.describe() if busy.holder else "another run"
        super().__init__(f"an images pass (product_images) is running against this catalogue: {who}; "
                         "nothing was deleted — run the cleanup again when it has finished")


@dataclass
class CleanupResult:
    rows_deleted: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0


def referenced_paths(conn: Connection, page: int = 1000) -> set[str]:
    """Every path any product (Haier or local) lists in ``main_images`` or ``detail_images``."""
    found: set[str] = set()
    last_id = 0
    while True:
        rows = conn.execute(
            select(products.c.id, products.c.main_images, products.c.detail_images)
            .where(products.c.id > last_id).order_by(products.c.id).limit(page)
        ).all()
        if not rows:
            return found
        last_id = rows[-1].id
        for row in rows:
            found.update(p for p in (*(row.main_images or ()), *(row.detail_images or ())) if isinstance(p, str))


def _rows(conn: Connection) -> Iterator[tuple[int, str, str | None]]:
    yield from conn.execute(select(media_images.c.id, media_images.c.file, media_images.c.original_url)).tuples()


def _age(store: MediaStore, relative: str, now: datetime) -> timedelta:
    stamp = (store.root / relative).stat().st_mtime
    return now - datetime.fromtimestamp(stamp, UTC)


def plan_cleanup(catalog: Catalog, store: MediaStore, now: datetime | None = None,
                 grace: timedelta = DEFAULT_GRACE) -> CleanupPlan:
    """Survey the catalog and the media folder; change nothing."""
    now = now or datetime.now(UTC)
    plan = CleanupPlan()
    with catalog.begin() as conn:
        referenced = referenced_paths(conn)
        rows = list(_rows(conn))
    recorded = {file for _, file, _ in rows}
    for row_id, file, url in rows:
        exists = store.exists(file)
        if file in referenced:
            continue
        if not exists:
            plan.dangling_rows.append((row_id, file))
        elif url:
            plan.unreferenced_rows.append((row_id, file))
            plan.reclaimable_bytes += store.path_of(file).stat().st_size
    plan.missing_referenced = sorted(p for p in referenced if not store.exists(p))
    for relative, path in store.iter_files():
        try:
            if path.name.startswith(TEMP_PREFIX):
                if _age(store, relative, now) > grace:
                    plan.temp_files.append(relative)
                    plan.reclaimable_bytes += path.stat().st_size
                continue
            store.path_of(relative)
        except (UnsafePath, FileNotFoundError):
            continue  # not ours (or gone meanwhile): never touched
        if relative not in recorded and relative not in referenced and _age(store, relative, now) > grace:
            plan.orphan_files.append(relative)
            plan.reclaimable_bytes += path.stat().st_size
    return plan


def apply_cleanup(catalog: Catalog, store: MediaStore, plan: CleanupPlan) -> CleanupResult:
    """Delete what ``plan`` found, re-checking references first; rows go before their files."""
    result = CleanupResult()
    doomed_rows = {row_id: file for row_id, file in (*plan.unreferenced_rows, *plan.dangling_rows)}
    with catalog.begin() as conn:
        referenced = referenced_paths(conn)
        doomed_rows = {row_id: file for row_id, file in doomed_rows.items() if file not in referenced}
        for chunk in chunked(sorted(doomed_rows)):
            result.rows_deleted += conn.execute(delete(media_images).where(media_images.c.id.in_(chunk))).rowcount
        still_recorded: set[str] = set()
        for names in chunked(plan.orphan_files):
            still_recorded.update(conn.execute(select(media_images.c.file).where(media_images.c.file.in_(names))).scalars())
    files = [*doomed_rows.values(), *(f for f in plan.orphan_files if f not in referenced and f not in still_recorded)]
    for relative in files:
        path = store.root / relative
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if store.delete(relative):
            result.files_deleted += 1
            result.bytes_freed += size
    for relative in plan.temp_files:
        path = store.root / relative
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        result.files_deleted += 1
        result.bytes_freed += size
    return result


def delete_unused(catalog: Catalog, engine: Engine, store: MediaStore, *, run_id: str | None,
                  grace: timedelta = DEFAULT_GRACE, wait: float = ACQUIRE_WAIT) -> tuple[CleanupPlan, CleanupResult]:
    """Survey and delete while holding the images lock.

    :class:`ImagesPassRunning` (nothing deleted) if an images pass holds it for longer than ``wait``.
    """
    try:
        with sync_lock(engine, IMAGES_LOCK, run_id, wait):
            plan = plan_cleanup(catalog, store, grace=grace)
            return plan, apply_cleanup(catalog, store, plan)
    except SyncBusy as busy:
        raise ImagesPassRunning(busy) from None
