"""A real Django shop for the publishing tests: migrated by Django's own ``migrate``, read through its ORM.

The project lives in ``tests/shop_django`` (apps ``catalog`` and ``integrations``, migrations made by
``makemigrations``). Every call runs Django in a subprocess with the shop's database URL, so each
test gets its own shop database — SQLite, or a fresh PostgreSQL database under ``HAIER_TEST_DB``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog_db import postgres_base_url, wants_postgres
from .postgres import create_database

SHOP_PROJECT = Path(__file__).resolve().parents[1] / "shop_django"


@dataclass(frozen=True)
class DjangoShop:
    """One migrated shop database and its media folder."""

    url: str
    media_root: Path

    def env(self) -> dict[str, str]:
        """The settings that point the pipeline at this shop."""
        return {"HAIER_SHOP_DB_URL": self.url, "HAIER_SHOP_MEDIA_ROOT": str(self.media_root)}

    def _run(self, args: list[str]) -> str:
        env = {**os.environ, "SHOP_DB_URL": self.url, "SHOP_MEDIA_ROOT": str(self.media_root),
               "DJANGO_SETTINGS_MODULE": "shop_settings", "PYTHONPATH": str(SHOP_PROJECT)}
        done = subprocess.run([sys.executable, *args], cwd=SHOP_PROJECT, env=env, capture_output=True, text=True,
                              check=False, timeout=300)
        assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
        return done.stdout

    def run_django(self, args: list[str]) -> str:
        """``python -m django <args>`` in the shop project."""
        return self._run(["-m", "django", *args])

    def migrate(self) -> str:
        """Django's own ``migrate``, as a shop deploy runs it."""
        return self.run_django(["migrate", "--no-input"])

    def probe(self, command: str, argument: Any = None) -> Any:
        """What the shop's ORM says (``probe.py``): ``dump``, ``edit``, ``add_local``, ``round_trip``."""
        args = ["probe.py", command] + ([json.dumps(argument, ensure_ascii=False)] if argument is not None else [])
        return json.loads(self._run(args).strip().splitlines()[-1])


def django_shop(tmp_path: Path, request: Any) -> DjangoShop:
    """A new shop database, migrated by Django (SQLite file, or a PostgreSQL database on request)."""
    if wants_postgres():
        slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:30]
        url = create_database(postgres_base_url(request), f"shop_{os.getpid()}_{slug}")
    else:
        url = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    shop = DjangoShop(url, tmp_path / "shop-media")
    shop.migrate()
    return shop
