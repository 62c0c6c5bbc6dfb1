#!/usr/bin/env bash
# Measures what high availability costs the assignment burst (licet-bench
# --scenario burst, every check a new user taking a seat):
#   1. on a Patroni cluster (scripts/ha-cluster.sh), synchronous replication
#      against asynchronous;
#   2. behind PgBouncer in transaction pooling, each pgx query mode, against
#      PostgreSQL directly.
#   scripts/ha-bench.sh [DURATION]          (default 10s per run)
# Loopback only; PostgreSQL on LICET_BENCH_PG (default 127.0.0.1:5432) for
# part 2. Run as root (the clusters and PgBouncer run as postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
pg=${LICET_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
chmod 755 "$work"
bouncer_pid=""
cleanup() {
	scripts/ha-cluster.sh down "$work/cluster" >/dev/null 2>&1 || true
	[[ -n "$bouncer_pid" ]] && kill "$bouncer_pid" 2>/dev/null || true
	psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS licet_bench WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/licet" ./cmd/licet
go build -o "$work/licet-bench" ./cmd/licet-bench

run() { # label, then licet-bench flags
	local label=$1
	shift
	echo "== $label"
	"$work/licet-bench" --licet "$work/licet" --duration "$dur" --scenario burst --baseline=false "$@"
}

# HA_BENCH_PARTS=pgbouncer runs part 2 only.
parts=${HA_BENCH_PARTS:-sync,pgbouncer}
for sync in true false; do
	[[ $parts == *sync* ]] || break
	rm -rf "$work/cluster"
	out=$(HA_SYNC=$sync scripts/ha-cluster.sh up "$work/cluster")
	url=$(echo "$out" | tail -1)
	patroni=$(echo "$out" | tail -2 | head -1 | sed 's/^patroni: //')
	LICET_PATRONI=$patroni run "Patroni cluster, synchronous_mode=$sync, assignment burst" --database "$url"
	scripts/ha-cluster.sh down "$work/cluster" >/dev/null
done

fresh_pg() {
	# FORCE: PgBouncer keeps server connections to it open.
	psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS licet_bench WITH (FORCE)" -c "CREATE DATABASE licet_bench" >/dev/null 2>&1
}
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
host=$(echo "$pg" | sed -E 's#^postgres(ql)?://([^@]*@)?##; s#/.*$##')
cat >"$work/pgbouncer.ini" <<INI
[databases]
* = host=${host%:*} port=${host##*:}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
echo '"postgres" ""' >"$work/userlist.txt"
chmod 644 "$work/pgbouncer.ini" "$work/userlist.txt"
chmod 777 "$work"
if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- pgbouncer -d "$work/pgbouncer.ini"; else pgbouncer -d "$work/pgbouncer.ini"; fi
sleep 1
bouncer_pid=$(cat "$work/pgbouncer.pid")

fresh_pg
run "PostgreSQL directly (cache_statement, prepared)" --database "$pg/licet_bench?sslmode=disable"
for mode in cache_describe exec simple_protocol; do
	fresh_pg
	LICET_DB_PGBOUNCER=true run "PgBouncer, transaction pooling, $mode" \
		--database "postgres://postgres@127.0.0.1:$port/licet_bench?sslmode=disable&default_query_exec_mode=$mode"
done
