"""Definitions grouped by domain — ``sync``, ``media``, ``logistics``, ``finance``, ``health`` — each with its
assets, checks, jobs, schedules and sensors and a ``definitions`` module; ``definitions.py`` merges them."""
