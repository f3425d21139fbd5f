"""Benchmarks of the sync at catalogue scale: ``.venv/bin/python benchmarks/run.py --products 2000``.

``run.py`` drives everything; ``pipeline_sync`` times one Dagster sync, ``original_loop`` is a port of
the original Django command's one-product-at-a-time loop, ``environment`` records commit and machine.
"""
