#!/usr/bin/env bash
# Installs what the test suite needs, only when missing: Debian's Chromium
# (the browser for the e2e tests), the pinned npm packages (playwright-core's
# driver, @directus/sdk) and a running PostgreSQL. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "test-deps: installing chromium from apt"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

# npm's hidden lockfile (node_modules/.package-lock.json) lists what is
# installed; it never equals package-lock.json byte for byte (no root entry),
# so compare the packages' versions and integrity instead. npm ci wipes
# node_modules, so run it only when something differs.
npm_in_sync() {
  node -e '
    const want = require("./e2e/package-lock.json").packages;
    const have = require("./e2e/node_modules/.package-lock.json").packages;
    for (const [k, p] of Object.entries(want)) {
      if (k === "") continue;
      const h = have[k];
      if (!h || h.version !== p.version || h.integrity !== p.integrity) process.exit(1);
    }' 2>/dev/null
}

if [ ! -f e2e/node_modules/playwright-core/cli.js ] || [ ! -d e2e/node_modules/@directus/sdk ] || ! npm_in_sync; then
  echo "test-deps: npm ci in e2e/"
  npm ci --prefix e2e --no-audit --no-fund
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "test-deps: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || { echo "test-deps: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
fi
