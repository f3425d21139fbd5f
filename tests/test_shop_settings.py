"""Shop publishing settings: off (and saying so) without HAIER_SHOP_DB_URL, bad values refused by name,
the shop database's password never shown."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from haier_pipeline.definitions import build_definitions
from haier_pipeline.defs.shop.assets import build_shop_assets
from haier_pipeline.resources import MediaResource, SyncScope
from haier_pipeline.resources.shop import UNSET_REASON, ShopResource
from haier_pipeline.settings import SettingsError, load_settings
from support.pipeline import project_env

SECRET = "s3cret-shop-pw-7781"
SHOP_URL = f"postgresql+psycopg://shop:{SECRET}@127.0.0.1:1/shop"
GATEWAY = {"HAIER_BASE_URL": "http://127.0.0.1:9", "HAIER_TOKEN_URL": "http://127.0.0.1:9/oauth2/auth",
           "HAIER_CLIENT_ID": "id", "HAIER_CLIENT_SECRET": "secret", "HAIER_CUSTOMER_CODE": "8800",
           "HAIER_SEND_TO_CODE": "8801", "HAIER_PASSWORD": "pw"}


@pytest.mark.slow  # quick loop: over ~3 s on 2 cores (docs/testing.md)
def test_without_a_shop_url_the_ui_and_the_materialisation_say_publishing_is_off(tmp_path, catalog):
    with project_env({"HAIER_DATA_DIR": str(tmp_path)}):
        settings = load_settings()
        defs = build_definitions(settings)
    for key in ("shop_products", "shop_images"):
        [description] = defs.resolve_assets_def(key).descriptions_by_key.values()
        assert UNSET_REASON in description
    result = dg.materialize(build_shop_assets(enabled=bool(settings.shop_db_url)), resources={
        "catalog": catalog, "shop": ShopResource(), "sync_scope": SyncScope(),
        "media": MediaResource(media_root=str(tmp_path / "media"))}, selection=["shop_products", "shop_images"])
    for event in result.get_asset_materialization_events():
        metadata = {name: value.value for name, value in event.materialization.metadata.items()}
        assert metadata == {"published": False, "reason": UNSET_REASON, "rows_written": 0}


def test_the_built_in_sandbox_never_publishes_demo_data_unasked(tmp_path):
    with pytest.raises(SettingsError) as raised:
        load_settings({"HAIER_DATA_DIR": str(tmp_path), "HAIER_SHOP_DB_URL": SHOP_URL})
    assert "HAIER_SHOP_DB_URL" in str(raised.value) and SECRET not in str(raised.value)
    asked = load_settings({"HAIER_DATA_DIR": str(tmp_path), "HAIER_SHOP_DB_URL": SHOP_URL, "HAIER_SANDBOX": "1"})
    assert asked.shop_db_url == SHOP_URL


@pytest.mark.parametrize(("variable", "value"), [
    ("HAIER_SHOP_DB_URL", "mysql://shop:" + SECRET + "@db/shop"),
    ("HAIER_SHOP_DB_URL", "not a url " + SECRET),
    ("HAIER_SHOP_PRODUCT_TABLE", "catalog_product; DROP TABLE x"),
    ("HAIER_SHOP_PARENT_CATEGORY", "家电"),
    ("HAIER_SHOP_MEDIA_URL", "/media"),
])
def test_bad_shop_settings_stop_start_up_by_name(variable, value):
    with pytest.raises(SettingsError) as raised:
        load_settings({**GATEWAY, variable: value})
    assert str(raised.value).startswith(f"{variable}:") and SECRET not in str(raised.value)


def test_the_shop_password_never_reaches_the_ui(tmp_path):
    env = {**GATEWAY, "HAIER_DATA_DIR": str(tmp_path), "HAIER_SHOP_DB_URL": SHOP_URL}
    with project_env(env):
        settings = load_settings()
        defs = build_definitions(settings)
        snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    shop = defs.resources["shop"]
    assert isinstance(shop, ShopResource) and shop.enabled
    assert SECRET not in repr(settings) and SECRET not in snapshot and SECRET not in repr(shop)
    assert SECRET not in shop.display_url and "***" in shop.display_url
    assert SECRET in settings.secrets()
    assert settings.shop_db_url == SHOP_URL



def test_the_committed_shop_migrations_are_what_makemigrations_makes(tmp_path):
    from support.shop import DjangoShop

    shop = DjangoShop(f"sqlite:///{tmp_path / 'shop.sqlite'}", tmp_path / "media")
    assert "No changes detected" in shop.run_django(["makemigrations", "--check", "--dry-run"])
