#!/usr/bin/env bash
# Installs the Debian packages grasp-explorer needs to build, run its window and run its tests.
# Idempotent; uses sudo when not root. Set GRASP_SKIP_APT=1 to skip (e.g. packages managed elsewhere).
set -euo pipefail

packages=(
  # build: C/C++ toolchain for crates with bundled C/C++ sources (openh264, candle's tokenizer deps)
  gcc g++ libc6-dev pkg-config make
  # window: X11 + Vulkan loader + Mesa's software Vulkan (lavapipe) so it runs without a GPU
  libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0 libvulkan1 mesa-vulkan-drivers
  # tests: a virtual X server for the screenshot test
  xvfb xauth
)

if [ "${GRASP_SKIP_APT:-0}" = "1" ]; then
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = "0" ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust 1.95 with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
