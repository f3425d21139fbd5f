#!/usr/bin/env bash
# Lint (ruff) and type-check (mypy) first, then the whole test suite twice: on SQLite, then on a real
# PostgreSQL server the tests start themselves from the machine's PostgreSQL 15 binaries.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
echo "=== lint and types: ruff check, mypy ==="
ruff check haier_pipeline tests benchmarks
mypy haier_pipeline
echo "=== test pass 1/2: catalog on SQLite ==="
HAIER_TEST_DB=sqlite python -m pytest "$@"
echo "=== test pass 2/2: catalog on PostgreSQL ==="
HAIER_TEST_DB=postgresql python -m pytest "$@"
