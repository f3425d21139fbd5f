"""The project's Dagster resources; every value that says where or who comes from the settings, never run config.

- ``haier_api`` — :class:`HaierApiResource` (Haier's gateway) or :class:`SandboxApiResource` (built-in sandbox)
- ``catalog`` — :class:`CatalogResource`, the catalog database and the run's liveness lock
- ``media`` — :class:`MediaResource`, the media folder and image limits
- ``sync_scope`` — :class:`SyncScope`, the original command's flags for one run
- ``alerts`` — :class:`AlertResource`, the log line and the webhook
- ``shop`` — :class:`ShopResource`, the Django shop the catalogue is published into
"""

from .alerts import AlertResource
from .catalog import CatalogResource
from .haier_api import SANDBOX_WARNING, HaierApiResource, SandboxApiResource
from .media import MediaResource
from .shop import ShopResource
from .sync_scope import ScopeError, SyncScope

__all__ = ["SANDBOX_WARNING", "AlertResource", "CatalogResource", "HaierApiResource", "MediaResource",
           "SandboxApiResource", "ScopeError", "ShopResource", "SyncScope"]
