"""The media folder and the image pass's limits as a Dagster resource."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from haier_pipeline.constants import TIMEZONE
from haier_pipeline.media.options import ImageOptions
from haier_pipeline.media.store import MediaStore

from .values import settings_value


class MediaResource(dg.ConfigurableResource):
    """The folder that holds localised product images (``HAIER_MEDIA_ROOT``) and the ``HAIER_IMAGE_*`` limits.

    Both come from the settings only (resource dependencies, not run-config fields): a run cannot
    write images elsewhere or loosen the URL policy.
    """

    media_root: dg.ResourceDependency[str] = Field(description="Folder of images/YYYY/MM/DD/<uuid>.<ext>.")
    images: dg.ResourceDependency[ImageOptions] = settings_value(ImageOptions(),
                                                                 description="Limits and URL policy of images.")
    min_free_bytes: dg.ResourceDependency[int] = settings_value(
        0, description="HAIER_MEDIA_MIN_FREE_BYTES: images are not written when less would stay free.")
    timezone: dg.ResourceDependency[str] = settings_value(
        TIMEZONE, description="HAIER_MEDIA_TIMEZONE: the zone whose calendar day dates an image's folder.")

    @property
    def root(self) -> Path:
        return Path(self.media_root)

    def store(self, min_free_bytes: int = 0) -> MediaStore:
        """The image store of this media root, its folders dated in :attr:`timezone`."""
        return MediaStore(self.root, min_free_bytes=min_free_bytes, timezone=self.timezone)
