"""The media folder and the image pass's limits as a Dagster resource."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from haier_pipeline.media.options import ImageOptions

from .values import settings_value


class MediaResource(dg.ConfigurableResource):
    """The folder that holds localised product images (``HAIER_MEDIA_ROOT``) and the ``HAIER_IMAGE_*`` limits.

    Both come from the settings only (resource dependencies, not run-config fields): a run cannot
    write images elsewhere or loosen the URL policy.
    """

    media_root: dg.ResourceDependency[str] = Field(description="Folder of images/YYYY/MM/DD/<uuid>.<ext>.")
    images: dg.ResourceDependency[ImageOptions] = settings_value(ImageOptions(),
                                                                 description="Limits and URL policy of images.")

    @property
    def root(self) -> Path:
        return Path(self.media_root)
