"""The health domain's Dagster definitions (see its ``definitions`` module)."""
