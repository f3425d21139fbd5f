"""Dagster assets: Haier's raw payloads, the catalog tables built from them, and product images."""
