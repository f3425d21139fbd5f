"""Migration ``0004_image_urls``: chained after ``0003_sync_log_health``, existing images' URLs carried over,
reversible."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from haier_pipeline.catalog import tables
from haier_pipeline.catalog.engine import (
    alembic_config,
    create_catalog_engine,
    current_revisions,
    downgrade_database,
    release_database,
    upgrade_database,
)
from support.catalog_db import catalog_url_for_tests

REVISION = "0004_image_urls"


@pytest.fixture
def engine(tmp_path, request):
    url = catalog_url_for_tests(tmp_path, request)
    engine = create_catalog_engine(url)
    yield engine
    engine.dispose()
    release_database(url)


def test_revision_chains_after_the_sync_log_health_revision() -> None:
    script = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION)
    assert script is not None and script.down_revision == "0003_sync_log_health"


def test_existing_images_keep_their_urls_and_the_downgrade_removes_the_table(engine) -> None:
    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    upgrade_database(engine, before)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            tables.media_images.insert(),
            [
                {
                    "file": "images/2026/11/30/a.png",
                    "original_url": "http://img.example/a.png",
                    "sha256": "a" * 64,
                    "created_at": now,
                },
                {
                    "file": "images/2026/11/30/b.png",
                    "original_url": "http://img.example/a.png",
                    "sha256": "b" * 64,
                    "created_at": now,
                },
                {"file": "images/2026/11/30/own.png", "original_url": None, "sha256": "c" * 64, "created_at": now},
            ],
        )

    upgrade_database(engine, REVISION)

    assert current_revisions(engine) == {REVISION}
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT id FROM media_images WHERE file = 'images/2026/11/30/b.png'")).scalar_one()
        mapped = conn.execute(select(tables.media_image_urls.c.url_sha256, tables.media_image_urls.c.url,
                                     tables.media_image_urls.c.media_image_id)).all()
    url = "http://img.example/a.png"
    assert mapped == [(hashlib.sha256(url.encode()).hexdigest(), url, newest)]  # the newest row wins; own uploads none
    with engine.begin() as conn:  # deleting an image deletes its URLs with it
        conn.execute(tables.media_images.delete().where(tables.media_images.c.id == newest))
        assert conn.execute(select(tables.media_image_urls)).all() == []

    downgrade_database(engine, before)
    assert "media_image_urls" not in inspect(engine).get_table_names()
