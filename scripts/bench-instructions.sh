#!/usr/bin/env bash
# Counts the instructions licet's server spends per check (user space, under
# valgrind's callgrind): a measure that does not move with the machine's
# load, for telling two builds apart where requests a second swing by 30 %.
#   scripts/bench-instructions.sh [USERS] [LEASE_REUSE] [SECONDS]
# USERS licensed users are seeded (without valgrind) and each checked once
# under it (default 1000);
# LEASE_REUSE is --lease-reuse (default 5m, the hot path; 0 signs every
# check); then wrk drives checks for SECONDS (default 20) and the counters
# are read between a reset after the warm-up and a dump after wrk stops.
# One P and no asynchronous preemption (callgrind cannot follow Go's
# preemption signals); the flush once a minute, so the window holds at
# most one. LICET=binary measures that build; extra environment through
# LICET_ENV="NAME=value …". Needs valgrind and wrk. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-1000}
reuse=${2:-5m}
seconds=${3:-20}
port=18290
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
	echo "bench-instructions: 127.0.0.1:$port is in use; stop what listens there" >&2
	exit 1
fi
bin=$(mktemp -d)
data=$(mktemp -d)
vg=""
seeder=""
trap 'kill $seeder $vg 2>/dev/null; wait 2>/dev/null; rm -rf "$bin" "$data"' EXIT
if [ -n "${LICET:-}" ]; then cp "$LICET" "$bin/licet"; else go build -o "$bin/licet" ./cmd/licet; fi
go build -o "$bin/licet-bench" ./cmd/licet-bench
# Seeded without valgrind (a batch of 10,000 users under it outlasts the
# server's write timeout), then served again from the same data under it.
"$bin/licet" serve --listen "127.0.0.1:$port" --data "$data" --log-format json >"$bin/seed.log" 2>&1 &
seeder=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	kill -0 "$seeder" 2>/dev/null || { tail -5 "$bin/seed.log" >&2; exit 1; }
	sleep 0.2
done
"$bin/licet-bench" --server "http://127.0.0.1:$port" --token-file "$data/operator-token" --scenario field \
	--users "$users" --requests 1 --conns 1 --baseline=false >/dev/null
kill "$seeder"
wait "$seeder" || true
seeder=""
# shellcheck disable=SC2086
env ${LICET_ENV:-} GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 LICET_FLUSH_INTERVAL=1m \
	valgrind --tool=callgrind --callgrind-out-file="$bin/callgrind.out" \
	"$bin/licet" serve --listen "127.0.0.1:$port" --data "$data" --lease-reuse "$reuse" --log-format json \
	--rate-org 0 --rate-device 0 --rate-admissions 0 --rate-new-ip 0 >"$bin/server.log" 2>&1 &
vg=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	kill -0 "$vg" 2>/dev/null || { tail -5 "$bin/server.log" >&2; exit 1; }
	sleep 0.5
done
# Every user checked once: the measured checks are not cache misses.
"$bin/licet-bench" --server "http://127.0.0.1:$port" --seed=false --scenario field \
	--users "$users" --requests "$users" --conns 8 --baseline=false >/dev/null
callgrind_control -z "$vg" >/dev/null 2>&1
USERS=$users wrk -t1 -c8 -d1h -s scripts/wrk-check.lua "http://127.0.0.1:$port/v1/license/check" >"$bin/wrk.out" &
wrk=$!
sleep "$seconds"
kill -INT "$wrk"
wait "$wrk" || true
callgrind_control -d "$vg" >/dev/null 2>&1
out=$(ls -t "$bin"/callgrind.out* | head -1)
ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
checks=$(awk '/requests in/ {print $1}' "$bin/wrk.out")
echo "checks $checks instructions $ir per check $((ir / checks))"
