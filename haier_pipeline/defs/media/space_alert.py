"""The images step's reaction to a full media volume: one alert, and a clean failure naming the figures."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from haier_pipeline.alerts import Alert
from haier_pipeline.media.space import DiskSpaceLow
from haier_pipeline.resources import AlertResource


@contextmanager
def stop_when_disk_low(context: dg.AssetExecutionContext, alerts: AlertResource) -> Iterator[None]:
    """Turn :class:`DiskSpaceLow` into an alert and a ``dg.Failure`` (the sync-log row closes ``failed`` with it)."""
    try:
        yield
    except DiskSpaceLow as low:
        alerts.send(Alert(
            kind="disk_space_low", title="media volume low on space: images not written", message=str(low),
            run_id=context.run_id,
            details={"free_bytes": low.free, "min_free_bytes": low.minimum, "about_to_write_bytes": low.needed,
                     "media_root": str(low.folder)},
        ), context.log)
        raise dg.Failure(description=str(low),
                         metadata={"free_bytes": low.free, "min_free_bytes": low.minimum}) from None
