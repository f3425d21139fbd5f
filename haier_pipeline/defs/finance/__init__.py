"""The finance domain's Dagster definitions (see its ``definitions`` module)."""
