#!/usr/bin/env bash
# Drives licet and the baseline handler with wrk (-t1 -c32 -d6s), in
# alternating rounds, and prints requests/s, p50 and p99 of each run.
#   scripts/bench-wrk.sh [USERS] [LEASE_REUSE] [ROUNDS]
# USERS licensed users are seeded (default 100000), each request checks
# the next one in turn; LEASE_REUSE is licet's --lease-reuse (default 0:
# every check signs, the field); ROUNDS defaults to 3. Loopback only; every
# limit off, as licet-bench runs.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
reuse=${2:-0}
rounds=${3:-3}
for port in 18090 18091; do
	# A server left on the port would answer for the one started here.
	if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
		echo "bench-wrk: 127.0.0.1:$port is in use; stop what listens there" >&2
		exit 1
	fi
done
bin=$(mktemp -d)
data=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$bin" "$data"' EXIT
if [ -n "${LICET:-}" ]; then cp "$LICET" "$bin/licet"; else go build -o "$bin/licet" ./cmd/licet; fi
go build -o "$bin/licet-bench" ./cmd/licet-bench
"$bin/licet" serve --listen 127.0.0.1:18090 --data "$data" --lease-reuse "$reuse" \
	--rate-org 0 --rate-device 0 --rate-admissions 0 --rate-new-ip 0 2>/dev/null >/dev/null &
pids+=($!)
"$bin/licet-bench" --bare-listen 127.0.0.1:18091 >/dev/null &
pids+=($!)
until curl -sf http://127.0.0.1:18090/readyz >/dev/null 2>&1; do sleep 0.2; done
# Seeds, then checks every user once (the users cached, as on a server up for a while).
"$bin/licet-bench" --server http://127.0.0.1:18090 --token-file "$data/operator-token" --scenario field \
	--users "$users" --requests "$users" --conns 8 --baseline=false >/dev/null
for r in $(seq "$rounds"); do
	order="licet bare"
	if [ $((r % 2)) = 0 ]; then order="bare licet"; fi
	for t in $order; do
		port=18090
		if [ "$t" = bare ]; then port=18091; fi
		echo "== round $r: $t"
		USERS=$users wrk -t1 -c32 -d6s --latency -s scripts/wrk-check.lua "http://127.0.0.1:$port/v1/license/check" |
			grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
	done
done
