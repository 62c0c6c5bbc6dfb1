#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and for trying licet's regions on
# one machine: a primary, and a hot standby fed by PostgreSQL's own
# streaming replication.
#
#   scripts/pg-cluster.sh primary DIR PORT          initdb DIR, allow replication, start on PORT
#   scripts/pg-cluster.sh standby DIR PORT FROM     pg_basebackup -R from the primary on port FROM, start
#   scripts/pg-cluster.sh start DIR | stop DIR      start or stop (fast) a cluster made here
#   scripts/pg-cluster.sh promote DIR               make a standby a primary
#
# Connections: TCP on 127.0.0.1 only, trust, user postgres. Run
# as root (the server then runs as the postgres user) or as that user.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bindir/initdb" ]] || { echo "pg-cluster: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }

as_pg() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

prepare() { # DIR: an empty folder the server's user owns
	mkdir -p "$1"
	chmod 700 "$1"
	if [[ $(id -u) -eq 0 ]]; then chown postgres: "$1"; fi
}

start() { # DIR
	as_pg "$bindir/pg_ctl" -D "$1" -l "$1/server.log" -w -t 60 start >/dev/null
}

cmd=${1:-}
case "$cmd" in
primary)
	dir=$2 port=$3
	prepare "$dir"
	as_pg "$bindir/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = on
CONF
	echo "host replication postgres 127.0.0.1/32 trust" >>"$dir/pg_hba.conf"
	start "$dir"
	;;
standby)
	dir=$2 port=$3 from=$4
	prepare "$dir"
	as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$from" -U postgres -D "$dir" -R -X stream -c fast
	cat >>"$dir/postgresql.conf" <<CONF
port = $port
unix_socket_directories = ''
CONF
	start "$dir"
	;;
start) start "$2" ;;
stop) as_pg "$bindir/pg_ctl" -D "$2" -m fast -w -t 60 stop >/dev/null ;;
promote) as_pg "$bindir/pg_ctl" -D "$2" -w promote >/dev/null ;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
