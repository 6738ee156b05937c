// Package e2e holds Quire's browser tests: playwright-go drives Debian's
// Chromium against the real quire binary, built once per run and started on a
// free port with a fresh database, to prove what handler tests cannot - that a
// person with a browser can register, sign in and write, with htmx swapping
// fragments in place and with JavaScript turned off.
//
// The tests need /usr/bin/chromium and the npm package playwright-core
// (pinned in package.json); `bash scripts/test-deps.sh` installs both. When
// either is missing the suite fails with that command in the message; it
// never skips.
//
// Environment:
//
//	E2E_DB         a postgres:// URL: run against a fresh schema in that
//	               database instead of a fresh SQLite file
//	E2E_ARTIFACTS  folder for screenshots and page HTML (default
//	               $TMPDIR/quire-e2e-artifacts)
//	E2E_BIN        test this quire binary instead of building one from
//	               the working tree
package e2e
