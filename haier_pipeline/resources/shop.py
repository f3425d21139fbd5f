"""The Django shop's database as a Dagster resource: where (and whether) the catalogue is published."""

import threading
from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from haier_pipeline.catalog.engine import create_catalog_engine
from haier_pipeline.constants import DEFAULT_SHOP_PARENT_CATEGORY, SHOP_TABLE_DEFAULTS
from haier_pipeline.shop import ShopTableNames, ShopTarget, shop_tables

from .values import settings_value

UNSET_REASON = "shop publishing off: HAIER_SHOP_DB_URL unset"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class ShopResource(dg.ConfigurableResource):
    """The Django shop (``HAIER_SHOP_*``): its database, table names, MEDIA_ROOT, MEDIA_URL and parent category.

    ``db_url`` is a resource dependency from the settings, never run config: no run can point the
    publish at another database, and its password never reaches the UI. Empty: publishing is off.
    """

    db_url: dg.ResourceDependency[str | None] = settings_value(None, repr=False,
                                                               description="The shop's SQLAlchemy URL.")
    tables: dict[str, str] = Field(default_factory=lambda: dict(SHOP_TABLE_DEFAULTS),
                                   description="The shop's table names (HAIER_SHOP_*_TABLE).")
    media_root: str = Field(default="", description="The shop's MEDIA_ROOT (HAIER_SHOP_MEDIA_ROOT).")
    media_url: str = Field(default="/media/", description="The shop's MEDIA_URL (HAIER_SHOP_MEDIA_URL).")
    parent_category: list[str] = Field(default_factory=lambda: list(DEFAULT_SHOP_PARENT_CATEGORY),
                                       description="major, minor: parent of created item categories.")

    @property
    def enabled(self) -> bool:
        return bool(self.db_url)

    def engine(self) -> Engine:
        """One engine per shop URL per process (SQLite: busy timeout, foreign keys; PostgreSQL: UTC sessions)."""
        if not self.db_url:
            raise RuntimeError(UNSET_REASON)
        with _engines_lock:
            if self.db_url not in _engines:
                _engines[self.db_url] = create_catalog_engine(self.db_url)
            return _engines[self.db_url]

    def target(self) -> ShopTarget:
        major, minor = self.parent_category
        return ShopTarget(shop_tables(ShopTableNames(**self.tables)), Path(self.media_root), self.media_url,
                          (major, minor))

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, safe for logs and metadata."""
        return make_url(self.db_url).render_as_string(hide_password=True) if self.db_url else ""
