#!/usr/bin/env bash
# bench/run.sh is `make bench`: it installs wrk when missing, builds the
# release binary (make build) and the harness, and runs the harness, which
# seeds a fresh database, loads quire over loopback and prints the report.
# Settings come from the environment (defaults in brackets):
#   BENCH_POSTS [10000]  BENCH_USERS [50]  BENCH_DURATION [10s]
#   BENCH_CONNECTIONS [32]  BENCH_THREADS [2]  BENCH_TOKENS [80000]
#   BENCH_BASELINE [10000]  BENCH_ROUNDS [2]  BENCH_ONLY [all; a regexp of scenario keys]
#   BENCH_OUT [bench/results]  BENCH_WORK [a temp dir]  BENCH_KEEP [unset]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench: installing wrk from apt" >&2
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq wrk
fi

make --no-print-directory build
go build -o bin/quirebench ./bench/cmd/quirebench
exec bin/quirebench "$@"
