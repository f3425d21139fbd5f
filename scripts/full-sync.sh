#!/usr/bin/env bash
# Run haier_full_sync once (against the built-in sandbox unless HAIER_BASE_URL is set) and
# print where the data went. The settings (.env included) are checked first: a bad one ends in one
# line naming it and exit code 2, before Dagster loads the code location or creates a run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
python -m haier_pipeline.check_settings
dagster job execute -m haier_pipeline.definitions -j haier_full_sync "$@"
python -m haier_pipeline.report
