"""Defaults for resource fields that hold values from the settings rather than run config."""

from typing import Any

from pydantic import Field


def settings_value(default: Any, **field_options: Any) -> Any:
    """A default for a ``dg.ResourceDependency`` field: a plain value the definitions pass in, never run config.

    Typed ``Any`` because the field's declared type is Dagster's descriptor, not the value's own type.
    """
    return Field(default=default, **field_options)
