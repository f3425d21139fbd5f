"""The sync domain's Dagster definitions (see its ``definitions`` module)."""
