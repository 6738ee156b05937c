#!/usr/bin/env bash
# Builds quire and runs e2e/sdk/tutorial.test.mjs: the original tutorial's
# calls through the real @directus/sdk (pinned in e2e/package.json) against a
# freshly started Quire, with Node's built-in test runner. Set QUIRE_URL to
# test a running Quire instead of a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f e2e/node_modules/@directus/sdk/package.json ]; then
  npm ci --prefix e2e --no-audit --no-fund
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 "${GO:-go}" build -o "$work/quire" .
QUIRE_BIN="$work/quire" node --test e2e/sdk/tutorial.test.mjs
