#!/usr/bin/env bash
# Run haier_full_sync once (against the built-in sandbox unless HAIER_BASE_URL is set) and
# print where the data went.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
dagster job execute -m haier_pipeline.definitions -j haier_full_sync "$@"
python -m haier_pipeline.report
