"""Alembic migrations: empty -> head, idempotent, schema == tables.py, round trips, old data upgraded in place."""

from __future__ import annotations

import multiprocessing
import shutil
import warnings
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import (
    MIGRATIONS,
    create_catalog_engine,
    current_revisions,
    downgrade_database,
    head_revisions,
    prepare_database,
    release_database,
    upgrade_database,
)
from haier_pipeline.catalog.raw_store import store_raw_products
from haier_pipeline.catalog.writes import ensure_brands, ensure_categories, upsert_products
from support.catalog_db import catalog_url_for_tests
from support.catalog_records import T0, product

ALL_TABLES = set(tables.metadata.tables)


@pytest.fixture
def url(tmp_path, request):
    url = catalog_url_for_tests(tmp_path, request)
    yield url
    release_database(url)


def test_empty_database_upgrades_to_head_with_every_table(url):
    engine = prepare_database(url)
    assert ALL_TABLES <= set(inspect(engine).get_table_names())
    assert current_revisions(engine) == head_revisions() and len(head_revisions()) == 1


def test_prepare_database_is_cached_and_a_database_at_head_runs_no_ddl(url):
    engine = prepare_database(url)
    assert prepare_database(url) is engine
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    upgrade_database(engine)
    upgrade_database(engine)
    assert seen, "the revision check reads the database"
    assert not [sql for sql in seen if sql.split()[0].upper() in ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE")]


def test_schema_from_migrations_matches_tables_py(url):
    engine = prepare_database(url)
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression indexes cannot be reflected on SQLite: alembic warns
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata)
    assert diff == []


def test_sqlite_engine_uses_wal_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'catalog.sqlite'}"
    engine = prepare_database(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        release_database(url)


def test_downgrade_to_base_and_upgrade_again(url):
    engine = prepare_database(url)
    downgrade_database(engine, "base")
    assert not ALL_TABLES & set(inspect(engine).get_table_names())
    assert current_revisions(engine) == set()
    upgrade_database(engine)
    assert ALL_TABLES <= set(inspect(engine).get_table_names())
    assert current_revisions(engine) == head_revisions()


SECOND_REVISION = '''
"""Test-only revision: a new column on products and a new table."""
import sqlalchemy as sa
from alembic import op

revision = "test_shelf_note"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("shelf_note", sa.Text(), nullable=True))
    op.create_table("shelf_events", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("note", sa.Text()))


def downgrade():
    op.drop_table("shelf_events")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("shelf_note")
'''


@pytest.fixture
def migrations_with_second_revision(tmp_path: Path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (head,) = head_revisions()  # the test revision follows whatever the project's head is
    (copy / "versions" / "9999_test_shelf_note.py").write_text(SECOND_REVISION.replace("{head}", head))
    return copy


def _product_snapshot(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(tables.products).order_by(tables.products.c.product_code)).mappings().all()
        raw = conn.execute(select(func.count()).select_from(tables.haier_raw_products)).scalar_one()
    return [{k: v for k, v in row.items()} for row in rows], raw


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_a_database_with_data_upgrades_in_place_and_back(url, migrations_with_second_revision):
    engine = create_catalog_engine(url)
    try:
        (head,) = head_revisions()
        upgrade_database(engine, head, script_location=migrations_with_second_revision)
        records = [product("GA0000001"), product("GA0000002", brand_name="卡萨帝")]
        with engine.begin() as conn:
            brand_ids = ensure_brands(conn, [r.brand_name for r in records])
            category_ids = ensure_categories(conn, [r.product_group for r in records])
            upsert_products(conn, records, brand_ids, category_ids, T0)
            store_raw_products(conn, [(r.product_code, {"productCode": r.product_code}) for r in records], "run-1", T0)
        before = _product_snapshot(engine)

        upgrade_database(engine, script_location=migrations_with_second_revision)
        assert current_revisions(engine) == {"test_shelf_note"}
        assert "shelf_note" in {c["name"] for c in inspect(engine).get_columns("products")}
        rows, raw = _product_snapshot(engine)
        assert [{k: v for k, v in row.items() if k != "shelf_note"} for row in rows] == before[0]
        assert raw == before[1] == 2
        with engine.begin() as conn:  # constraints survived SQLite's batch table rebuild
            conn.execute(text("UPDATE products SET shelf_note = 'aisle 3'"))
            with pytest.raises(IntegrityError):
                with conn.begin_nested():
                    conn.execute(tables.products.insert().values(product_code="GA0000001", name="dup", source="haier"))

        downgrade_database(engine, head, script_location=migrations_with_second_revision)
        assert current_revisions(engine) == {head}
        assert "shelf_note" not in {c["name"] for c in inspect(engine).get_columns("products")}
        assert "shelf_events" not in inspect(engine).get_table_names()
        assert _product_snapshot(engine) == before
    finally:
        engine.dispose()


OLD_PRODUCTS = [  # code, supply, invoice, stock_rebate, rebate_money: written by the 0001 schema (4 places)
    ("GA0000001", "2999.0000", "2909.0300", "0.030000", "0.0000"),  # rate: 2999 × 0.97 = 2909.03
    ("GA0000002", "2999.0000", "2799.0000", "100.000000", "100.0000"),  # amount: 2999 − 100 − 100
    ("GA0000003", "1009.5000", "999.4000", "0.010000", "0.0000"),  # rate, half-even: 999.405 -> 999.40
    ("GA0000004", "2999.0000", "1.0000", "0.050000", "0.0000"),  # neither formula
]


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_an_old_catalogue_upgrades_to_price_encodings_in_place(url):
    """0001 -> 0002_price_encodings keeps every value, widens money to 6 places and fills stock_rebate_kind."""
    engine = create_catalog_engine(url)
    try:
        upgrade_database(engine, "0001")
        with engine.begin() as conn:
            for code, supply, invoice, rebate, money in OLD_PRODUCTS:
                conn.execute(
                    text(
                        "INSERT INTO products (product_code, name, source, is_sales, supply_price, invoice_price, "
                        "stock_rebate, rebate_money, price, stock, product_page_urls, main_images, detail_images, "
                        "is_active, "
                        "created_at, updated_at) VALUES (:code, 'n', 'haier', '1', :supply, :invoice, :rebate, :money, "
                        ":supply, 0, '[]', '[]', '[]', :yes, :now, :now)"
                    ),
                    {
                        "code": code,
                        "supply": supply,
                        "invoice": invoice,
                        "rebate": rebate,
                        "money": money,
                        "yes": True,
                        "now": T0.replace(tzinfo=None),
                    },
                )
        upgrade_database(engine)
        assert current_revisions(engine) == head_revisions()
        with engine.begin() as conn:
            rows = {row.product_code: row for row in conn.execute(select(tables.products))}
            for code, supply, invoice, rebate, money in OLD_PRODUCTS:
                row = rows[code]
                assert (row.supply_price, row.invoice_price, row.stock_rebate, row.rebate_money, row.price) == (
                    Decimal(supply), Decimal(invoice), Decimal(rebate), Decimal(money), Decimal(supply)), code
            assert {code: row.stock_rebate_kind for code, row in rows.items()} == {
                "GA0000001": "rate", "GA0000002": "amount", "GA0000003": "rate", "GA0000004": "unknown"}
            six_places = Decimal("8990.123456")  # now kept to the last accepted digit
            conn.execute(tables.products.update().where(tables.products.c.product_code == "GA0000001")
                         .values(supply_price=six_places, price_reason="价格未生效"))
            row = conn.execute(select(tables.products).where(tables.products.c.product_code == "GA0000001")).one()
        assert row.supply_price == six_places and row.price_reason == "价格未生效"
        downgrade_database(engine, "0001")
        assert "stock_rebate_kind" not in {c["name"] for c in inspect(engine).get_columns("products")}
    finally:
        engine.dispose()


def test_unsupported_database_is_refused_by_name():
    with pytest.raises(ValueError, match="unsupported database"):
        create_catalog_engine("mysql://user@localhost/db")


def test_postgresql_sessions_run_in_utc(url):
    engine = prepare_database(url)
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL session setting")
    with engine.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() == "UTC"


def migrate_when_released(url: str, barrier) -> None:
    """Child process: wait for every sibling, then upgrade the shared database."""
    engine = create_catalog_engine(url)
    try:
        barrier.wait()
        upgrade_database(engine)
    finally:
        engine.dispose()


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_processes_migrating_a_new_database_at_once_migrate_it_once(url):
    """Two processes (as two Dagster steps would be) upgrade the same empty database at the same moment."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2, timeout=60)
    workers = [spawn.Process(target=migrate_when_released, args=(url, barrier)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    engine = create_catalog_engine(url)
    try:
        assert current_revisions(engine) == head_revisions()
        assert ALL_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
