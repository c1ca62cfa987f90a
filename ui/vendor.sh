#!/usr/bin/env bash
# Refreshes the dashboard's vendored uPlot: installs the version pinned in
# package-lock.json and copies its built files and licence next to the page.
# The copies are committed, so building the gateway never needs Node; run
# this only to change uPlot's version (edit package.json, `npm install
# --package-lock-only`, then this script).
set -euo pipefail

ui_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor_dir="$ui_dir/../src/dashboard/assets/vendor"

cd "$ui_dir"
# --ignore-scripts: uPlot needs no install step, and nothing else should run.
npm ci --ignore-scripts --no-audit --no-fund

dist="$ui_dir/node_modules/uplot/dist"
mkdir -p "$vendor_dir"
cp "$dist/uPlot.iife.min.js" "$vendor_dir/uPlot.iife.min.js"
cp "$dist/uPlot.min.css" "$vendor_dir/uPlot.min.css"
cp "$ui_dir/node_modules/uplot/LICENSE" "$vendor_dir/uPlot.LICENSE"

version="$(node -p 'require("./node_modules/uplot/package.json").version')"
echo "vendored uPlot $version into ${vendor_dir#"$ui_dir/"}"
