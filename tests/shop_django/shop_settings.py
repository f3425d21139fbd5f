"""Settings of the minimal Django shop the shop-publishing tests migrate and read through Django's ORM.

The database comes from ``SHOP_DB_URL`` (a SQLAlchemy-style URL, as the pipeline's
``HAIER_SHOP_DB_URL``), the media folder from ``SHOP_MEDIA_ROOT``.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
INSTALLED_APPS = ["catalog", "integrations"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MEDIA_ROOT = os.environ.get("SHOP_MEDIA_ROOT", "/nonexistent-shop-media")
MEDIA_URL = "/media/"


def _database(url: str) -> dict:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:])}
    if scheme == "postgresql":
        return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
                "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
                "HOST": parts.hostname or "", "PORT": str(parts.port or "")}
    raise ValueError(f"SHOP_DB_URL: unsupported scheme {parts.scheme!r}")


DATABASES = {"default": _database(os.environ.get("SHOP_DB_URL", "sqlite:////tmp/shop-django-unset.sqlite"))}
