#!/usr/bin/env bash
# Runs every check CI runs: formatting, clippy, and the whole test suite (core, app, and the real window
# under Xvfb with Mesa's software renderer).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
