"""Read a catalogue from outside the pipeline: progress counts, canonical dumps and consistency checks.

The reader uses its own plain engine (no ``BEGIN IMMEDIATE``, no pool kept open), so watching
a sync from the test process never takes SQLite's write lock from under it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select
from sqlalchemy.pool import NullPool

from haier_pipeline.catalog import tables
from haier_pipeline.haier_api.jsonio import loads
from haier_pipeline.media.store import RELATIVE_PATH, TEMP_PREFIX
from haier_pipeline.sandbox import Catalogue

TIMESTAMP_COLUMNS = frozenset({"created_at", "updated_at", "last_sync_at", "last_changed_at", "synced_at",
                               "confirmed_at", "first_seen_at",
                               "changed_at", "fetched_at", "observed_at", "added_at", "valid_from", "valid_to",
                               "started_at", "completed_at", "delivered_at", "last_polled_at"})
# Diaries, rewritten by every run by design: the sync log, the latest run that found each image URL failing,
# and when each stock pair was last asked (the refresh planner's state).
HISTORY_TABLES = frozenset({"haier_sync_log", "media_rejected_urls", "stock_refresh_state", "alembic_version"})


def reader(url: str) -> Engine:
    """A plain engine for looking at the catalogue while a sync writes it."""
    return create_engine(url, poolclass=NullPool)


@contextmanager
def reading(url: str) -> Iterator[Connection]:
    engine = reader(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def row_count(conn: Connection, table: str) -> int:
    if not inspect(conn).has_table(table):
        return 0
    return conn.execute(select(func.count()).select_from(tables.metadata.tables[table])).scalar_one()


def media_files(root: Path) -> list[Path]:
    """Finished image files under the media root (temporary ``.tmp-*`` files left out)."""
    base = root / "images"
    return [path for path in base.rglob("*") if path.is_file() and not path.name.startswith(TEMP_PREFIX)] \
        if base.is_dir() else []


def canonical_dump(url: str, skip_tables: Iterable[str] = HISTORY_TABLES,
                   skip_columns: Iterable[str] = TIMESTAMP_COLUMNS) -> dict[str, list[tuple]]:
    """Every catalog table's rows as sorted tuples of ``repr``-ed values, timestamps and history left out."""
    skip_tables, skip_columns = set(skip_tables), set(skip_columns)
    dump: dict[str, list[tuple]] = {}
    with reading(url) as conn:
        present = set(inspect(conn).get_table_names())
        for name, table in sorted(tables.metadata.tables.items()):
            if name in skip_tables or name not in present:
                continue
            columns = [column for column in table.columns if column.name not in skip_columns]
            rows = conn.execute(select(*columns)).all()
            dump[name] = sorted(tuple(f"{column.name}={value!r}" for column, value in zip(columns, row, strict=True))
                                for row in rows)
    return dump


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def consistency_problems(url: str, media_root: Path, truth: Catalogue, counties: list[str]) -> list[str]:
    """What is wrong with a catalogue that a sync of the (unchanging) ``truth`` has been writing.

    Every row present must be whole and right: products with their brand and category and
    exactly the sandbox's fields and prices, stock rows exactly the sandbox's, raw payloads
    exactly what the sandbox answers, every image row backed by its file (same bytes) and every
    image a product lists backed by a row. Rows may be missing (the sync had not got there).
    """
    problems: list[str] = []
    products, prices = truth.expected_products(), truth.expected_prices()
    with reading(url) as conn:
        if not inspect(conn).has_table("products"):
            return problems
        brands = dict(conn.execute(select(tables.brands.c.id, tables.brands.c.name)).all())
        categories = dict(conn.execute(select(tables.categories.c.id, tables.categories.c.name)).all())
        for row in conn.execute(select(tables.products)).mappings():
            code, want = row["product_code"], products.get(row["product_code"])
            if want is None:
                problems.append(f"product {code}: not in the sandbox's listing")
                continue
            brand, category = brands.get(row["brand_id"]), categories.get(row["category_id"])
            if (brand, category) != (want.brand_name, want.product_group):
                problems.append(f"product {code}: brand/category {brand}/{category} missing or wrong")
            got = (row["product_model"], row["product_group"], row["is_sales"], row["product_image_url"],
                   tuple(row["product_page_urls"] or ()))
            if got != (want.product_model, want.product_group, want.is_sales, want.image_url, want.page_urls):
                problems.append(f"product {code}: listing fields half-written or wrong: {got}")
            price = prices[code]
            for column in ("supply_price", "invoice_price", "stock_rebate", "rebate_money", "rebate_type"):
                if _differs(row[column], getattr(price, column)):
                    problems.append(f"product {code}: {column} {row[column]!r} != {getattr(price, column)!r}")
        problems += _stock_problems(conn, truth, counties)
        problems += _raw_problems(conn, truth)
        problems += _image_problems(conn, media_root)
    return problems


def _differs(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return (want is None) != (got is None)
    return Decimal(got) != want if isinstance(want, Decimal) else got != want


def _stock_problems(conn: Connection, truth: Catalogue, counties: list[str]) -> list[str]:
    problems = []
    expected = {county: truth.expected_stock(county) for county in counties}
    mirrored = dict(conn.execute(select(tables.products.c.product_code, tables.products.c.stock)).all())
    for row in conn.execute(select(tables.product_stock)).mappings():
        want = expected.get(row["county_code"], {}).get(row["product_code"])
        if want is None or (row["stock"], row["warehouse_code"], row["warehouse_grade"]) != (
                want.stock, want.warehouse_code, want.warehouse_grade):
            problems.append(f"stock {row['product_code']}@{row['county_code']}: {row['stock']} is not the sandbox's")
        elif row["county_code"] == counties[0] and mirrored.get(row["product_code"]) != row["stock"]:
            problems.append(f"product {row['product_code']}: stock {mirrored.get(row['product_code'])} does not mirror "
                            f"{counties[0]} ({row['stock']})")
    return problems


def _raw_problems(conn: Connection, truth: Catalogue) -> list[str]:
    problems = []
    raw_products, raw_prices = tables.haier_raw_products.c, tables.haier_raw_prices.c
    for code, payload in conn.execute(select(raw_products.product_code, raw_products.payload)):
        answers = truth.product_answers([code])
        if not answers or loads(payload) != answers[0]:
            problems.append(f"raw product {code}: payload is not the sandbox's answer")
    for code, payload in conn.execute(select(raw_prices.product_code, raw_prices.payload)):
        answers = truth.price_answers([code])
        if not answers or loads(payload) != answers[0]:
            problems.append(f"raw price {code}: payload is not the sandbox's answer")
    raw_stock = select(tables.haier_raw_stock.c.product_code, tables.haier_raw_stock.c.county_code,
                       tables.haier_raw_stock.c.payload)
    for code, county, payload in conn.execute(raw_stock):
        if loads(payload) != truth.stock_answer(code, county):
            problems.append(f"raw stock {code}@{county}: payload is not the sandbox's answer")
    return problems


def _image_problems(conn: Connection, media_root: Path) -> list[str]:
    problems = []
    recorded = {}
    for row in conn.execute(select(tables.media_images)).mappings():
        recorded[row["file"]] = row
        path = media_root / row["file"]
        if not RELATIVE_PATH.match(row["file"]):
            problems.append(f"media row {row['id']}: {row['file']!r} is not a stored-image path")
        elif not path.is_file():
            problems.append(f"media row {row['id']}: {row['file']} has no file")
        elif sha256_of(path) != row["sha256"] or path.stat().st_size != row["size"]:
            problems.append(f"media row {row['id']}: {row['file']} is not the bytes recorded")
    listed = select(tables.products.c.product_code, tables.products.c.main_images, tables.products.c.detail_images)
    for code, main, detail in conn.execute(listed):
        for relative in [*(main or []), *(detail or [])]:
            if relative not in recorded:
                problems.append(f"product {code}: lists image {relative} that has no media row")
    return problems


def image_mismatches(url: str, media_root: Path, truth: Catalogue) -> list[str]:
    """Products whose image lists are not exactly their good images (by content, in order, files intact)."""
    images, products = truth.expected_images(), truth.expected_products()
    problems = []
    with reading(url) as conn:
        sha_of = dict(conn.execute(select(tables.media_images.c.file, tables.media_images.c.sha256)).all())
        rows = conn.execute(select(tables.products.c.product_code, tables.products.c.main_images,
                                   tables.products.c.detail_images)).all()
    for code, main, detail in rows:
        record = products[code]
        for urls, stored in (((record.image_url,) if record.image_url else (), main), (record.page_urls, detail)):
            wanted = list(dict.fromkeys(images[url].sha256 for url in urls if images[url].kind == "ok"))
            if [sha_of.get(path) for path in stored] != wanted:
                problems.append(f"product {code}: images {stored} are not its good images")
            elif any(sha256_of(media_root / path) != sha_of[path] for path in stored):
                problems.append(f"product {code}: an image file does not hold the bytes recorded")
    return problems


def log_counts(url: str, run_id: str) -> dict[str, tuple[str, int, int, int]]:
    """``{sync_type: (status, total, success, failed)}`` of one run's sync-log rows."""
    log = tables.haier_sync_log.c
    with reading(url) as conn:
        rows = conn.execute(select(log.sync_type, log.status, log.total_count, log.success_count, log.failed_count)
                            .where(log.run_id == run_id)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def expected_log_counts(truth: Catalogue, counties: list[str]) -> dict[str, tuple[str, int, int, int]]:
    """What a clean full sync of ``truth`` must log: every record counted once, each malformed one failed."""
    products = truth.expected_products()
    procurable = sum(1 for record in products.values() if record.is_sales == "1")
    images = truth.expected_images()
    bad_images = sum(1 for image in images.values() if image.kind != "ok")
    stock = procurable * len(counties)
    return {
        "products": ("partial" if truth.malformed_count else "success", len(products) + truth.malformed_count,
                     len(products), truth.malformed_count),
        "prices": ("success", len(products), len(products), 0),
        "stock": ("success", stock, stock, 0),
        "images": ("partial" if bad_images else "success", len(images), len(images) - bad_images, bad_images),
    }
