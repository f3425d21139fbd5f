"""The logistics domain's Dagster definitions (see its ``definitions`` module)."""
