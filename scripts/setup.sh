#!/usr/bin/env bash
# Installs what svcsim needs, only when it is missing, so it is cheap to call before every run.
#  - Debian libraries that canvas (behind chartjs-node-canvas) compiles against, and a font.
#  - npm packages (node_modules), with canvas built from source against local Node headers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in build-essential python3 pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >&2
fi

stamp=node_modules/.svcsim-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ ! -d node_modules/canvas/build ]; then
  echo "setup: installing npm packages" >&2
  # canvas has no prebuilt binary reachable here: build it from source against the local Node headers.
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  export npm_config_nodedir="$node_prefix"
  export npm_config_build_from_source=true
  export JOBS=max
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi
  touch "$stamp"
fi
