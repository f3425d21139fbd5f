"""The gateway's paths (the client's own table, so the two never drift), and which answers come in an envelope.

With ``envelope="mixed"`` (the default) products, stock and logistics answer
``{"success": true, "code": "200", "message": "ok", "data": ...}`` while prices and balances answer
the bare payload, so a client meets both forms on every sync.
"""

from __future__ import annotations

from haier_pipeline.haier_api.endpoints import BALANCES, LOGISTICS, PATHS, PRICES, PRODUCTS, STOCK

from .options import EnvelopeMode

BUSINESS_PATHS = {path: name for name, path in PATHS.items()}
PATH_OF = dict(PATHS)
TOKEN_PATHS = {"/oauth2/auth": "auth", "/oauth2/token": "token"}
ENVELOPED_WHEN_MIXED = {PRODUCTS: True, STOCK: True, LOGISTICS: True, PRICES: False, BALANCES: False}


def is_enveloped(endpoint: str, mode: EnvelopeMode) -> bool:
    if mode == "always":
        return True
    if mode == "never":
        return False
    return ENVELOPED_WHEN_MIXED[endpoint]
