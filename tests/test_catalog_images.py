"""Image references: product image lists set in bulk (Haier products only) and media_images rows with ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import prepare_database, release_database
from haier_pipeline.catalog.instrument import count_statements
from haier_pipeline.catalog.writes import (
    WriteCounts,
    ensure_brands,
    ensure_categories,
    insert_media_images,
    set_product_images,
    set_product_images_bulk,
    upsert_products,
)
from support.catalog_db import migrated_catalog_url_for_tests
from support.catalog_records import T0, later, product

P = tables.products


@pytest.fixture
def engine(tmp_path, request):
    url = migrated_catalog_url_for_tests(tmp_path, request)
    engine = prepare_database(url)
    with engine.begin() as conn:
        upsert_products(conn, [product("GA1"), product("GA2")], ensure_brands(conn, ["海尔"]),
                        ensure_categories(conn, ["电热水器"]), T0)
        conn.execute(P.insert().values(product_code="LOCAL1", name="自营", source="local", main_images=["mine.jpg"]))
    yield engine
    release_database(url)


def images(conn, code):
    return tuple(conn.execute(select(P.c.main_images, P.c.detail_images).where(P.c.product_code == code)).one())


def test_image_lists_are_set_once_and_unchanged_lists_write_nothing(engine):
    main, detail = ["images/2025/07/01/a.jpg"], ["images/2025/07/01/b.png", "images/2025/07/01/c.webp"]
    with engine.begin() as conn:
        counts = set_product_images_bulk(
            conn, [("GA1", main, detail), ("LOCAL1", [], []), ("NOPE", main, [])], later(1)
        )
        assert counts == WriteCounts(updated=1, skipped=2)
        assert images(conn, "GA1") == (main, detail)
        assert images(conn, "LOCAL1") == (["mine.jpg"], [])
    with count_statements(engine) as counted, engine.begin() as conn:
        assert set_product_images(conn, "GA1", main, detail, later(2)) is False
    assert counted.writes == 0
    with engine.begin() as conn:
        assert set_product_images(conn, "GA2", main, [], later(3)) is True
        assert conn.execute(select(P.c.updated_at).where(P.c.product_code == "GA2")).scalar_one() == later(3)


def test_media_images_return_ids_in_input_order(engine):
    rows = [
        {
            "file": f"images/2025/07/01/{n:032x}.jpg",
            "original_url": f"https://img.example/{n}.jpg",
            "content_type": "image/jpeg",
            "size": 1000 + n,
            "width": 800,
            "height": 600,
            "sha256": f"{n:064x}",
            "created_at": T0,
        }
        for n in range(3)
    ]
    with engine.begin() as conn:
        ids = insert_media_images(conn, rows)
        stored = dict(conn.execute(select(tables.media_images.c.id, tables.media_images.c.file)).all())
    assert len(set(ids)) == 3
    assert [stored[i] for i in ids] == [row["file"] for row in rows]
