#!/usr/bin/env bash
# Builds and opens the grasp-explorer window (Push-T, GRASP, shipped models). Extra arguments go to the app,
# e.g. `scripts/app.sh --env wall --planner cem`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release -- app "$@"
