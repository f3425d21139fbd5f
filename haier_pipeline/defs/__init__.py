"""Definitions grouped by domain — ``sync``, ``media``, ``logistics``, ``finance``, ``health`` — each with its
assets, checks, jobs, schedules and sensors and a ``definitions`` module; ``definitions.py`` merges them."""

import warnings

from dagster import BetaWarning

# The stock and logistics assets run their partitions in one run (BackfillPolicy.single_run, chosen on purpose);
# Dagster's beta notice for it would be printed at the top of every command's output.
warnings.filterwarnings("ignore", "Parameter `backfill_policy` of function `asset` is currently in beta", BetaWarning)
