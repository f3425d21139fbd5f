"""What one run syncs — the original command's flags — as the ``sync_scope`` resource."""


import re

import dagster as dg
from pydantic import Field

from haier_pipeline.constants import DEFAULT_COUNTY_CODES
from haier_pipeline.runs.scrub import scrub_sync_scope
from haier_pipeline.settings import COUNTY_CODE
from haier_pipeline.stock_plan.config import StockRefreshSettings

from .values import settings_value

# Haier's product codes are letters and digits (with the odd dot, dash or underscore).
PRODUCT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_LENGTH = 64
SECRET_REFUSED = "a value equals a configured secret; refused"


class ScopeError(ValueError):
    """A ``sync_scope`` value is refused; the message names the field, never the value when it may be a secret."""

    def __init__(self, field: str, reason: str, prefix: str = "") -> None:
        super().__init__(f"{prefix}{field}: {reason}")
        self.field = field
        self.reason = reason


class SyncScope(dg.ConfigurableResource):
    """What one run syncs. Empty means "everything configured". Set it under ``resources.sync_scope.config``.

    Values are checked when the run starts (not by pydantic, whose errors would repeat the value):
    product codes of letters, digits and ``._-`` up to 64 characters, brand and category names of
    printable text up to 64 characters, and no value equal to a configured secret — run config may
    read environment variables, and ``category: {env: HAIER_CLIENT_SECRET}`` must not store the
    secret in the catalogue. ``configured_counties`` and ``secrets`` come from the settings and are
    not run-config fields.
    """

    product_codes: list[str] = Field(
        default_factory=list, description="Only these product codes (any number; sent 20 per call)."
    )
    category: str | None = Field(
        default=None, description="Put synced products in this category instead of their product group."
    )
    brand: str | None = Field(
        default=None, description="Assign synced products to this brand instead of Haier's brand name."
    )
    county_codes: list[str] = Field(
        default_factory=list, description="6-digit district codes for stock; empty: HAIER_COUNTY_CODES."
    )
    full_pass: bool = Field(
        default=False, description="Ask stock for every product and county, not the refresh plan's pairs."
    )
    configured_counties: dg.ResourceDependency[tuple[str, ...]] = settings_value(DEFAULT_COUNTY_CODES)
    secrets: dg.ResourceDependency[frozenset[str]] = settings_value(frozenset(), repr=False)
    stock_refresh: dg.ResourceDependency[StockRefreshSettings] = settings_value(StockRefreshSettings())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self.check()
        except ScopeError as error:
            if error.reason == SECRET_REFUSED and context.instance is not None and context.run_id:
                # launched from the UI or GraphQL: the run, its config included, is already stored
                if scrub_sync_scope(context.instance, context.run_id):
                    raise ScopeError(error.field, f"{SECRET_REFUSED} (removed from the stored run)",
                                     prefix="sync_scope.") from None
            raise

    def check(self) -> None:
        """Refuse a value of the wrong shape, or one that equals a configured secret (named by field only)."""
        values = [("product_codes", code) for code in self.product_codes]
        values += [
            (name, value) for name, value in (("category", self.category), ("brand", self.brand)) if value is not None
        ]
        values += [("county_codes", code) for code in self.county_codes]
        for name, value in values:
            if value.strip() in self.secrets:
                raise ScopeError(name, SECRET_REFUSED, prefix="sync_scope.")
        for name, value in values:
            if name == "product_codes" and not PRODUCT_CODE.match(value.strip()):
                raise ScopeError(name, "every code must be 1-64 letters, digits, '.', '_' or '-'")
            if name in ("category", "brand") and not (0 < len(value.strip()) <= NAME_LENGTH and value.isprintable()):
                raise ScopeError(name, f"must be printable text of 1-{NAME_LENGTH} characters")
            if name == "county_codes" and not COUNTY_CODE.match(value):
                raise ScopeError(name, f"{value!r} is not a 6-digit district code (e.g. 110101)")

    @property
    def codes(self) -> list[str]:
        """The run's product codes, trimmed and without repeats (empty: every listed product)."""
        return list(dict.fromkeys(code.strip() for code in self.product_codes))

    def counties(self) -> list[str]:
        """The run's counties: its config's, else every configured county."""
        return list(dict.fromkeys(self.county_codes)) or list(self.configured_counties)

    @property
    def first_county(self) -> str:
        """The configured county that ``products.stock`` mirrors."""
        return self.configured_counties[0]
