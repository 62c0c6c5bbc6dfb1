#!/usr/bin/env bash
# Runs licet-bench's scenarios on SQLite and PostgreSQL, each beside the
# baseline handler, and prints one table. Loopback only.
#   scripts/bench.sh [DURATION]          (default 10s per scenario)
# PostgreSQL: a scratch database licet_bench on LICET_BENCH_PG (default the
# machine's 127.0.0.1:5432), dropped and created for each scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
pg=${LICET_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/licet" ./cmd/licet
go build -o "$bin/licet-bench" ./cmd/licet-bench

fresh_pg() {
	psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS licet_bench" -c "CREATE DATABASE licet_bench" >/dev/null 2>&1
	echo "$pg/licet_bench?sslmode=disable"
}

run() { # label, then licet-bench flags
	local label=$1
	shift
	echo "== $label"
	"$bin/licet-bench" --licet "$bin/licet" --duration "$dur" "$@"
}

run "SQLite, hot path, JSON" --scenario hot --format json
run "SQLite, hot path, XML" --scenario hot --format xml
run "SQLite, field: 100,000 users, every check signs" --scenario field
run "SQLite, assignment burst" --scenario burst --baseline=false
run "SQLite, assignment burst, half refused for lack of seats" --scenario burst --burst-seats 5000 --requests 10000 --baseline=false
run "SQLite, 95/5 mix" --scenario mix --baseline=false
run "PostgreSQL, hot path, JSON" --database "$(fresh_pg)" --scenario hot --format json
run "PostgreSQL, hot path, XML" --database "$(fresh_pg)" --scenario hot --format xml
run "PostgreSQL, field: 100,000 users, every check signs" --database "$(fresh_pg)" --scenario field
run "PostgreSQL, assignment burst" --database "$(fresh_pg)" --scenario burst --baseline=false
run "PostgreSQL, assignment burst, half refused for lack of seats" --database "$(fresh_pg)" --scenario burst --burst-seats 5000 --requests 10000 --baseline=false
run "PostgreSQL, 95/5 mix" --database "$(fresh_pg)" --scenario mix --baseline=false
run "SQLite, 1,000 hot users of 1,000,000" --users 1000000 --hot 1000 --scenario hot
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS licet_bench" >/dev/null 2>&1
