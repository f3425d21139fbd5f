"""The media domain's Dagster definitions (see its ``definitions`` module)."""
