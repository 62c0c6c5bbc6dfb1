#!/usr/bin/env bash
# A highly available PostgreSQL cluster on loopback, for tests and for trying
# licet's high availability on one machine: one etcd and three PostgreSQL
# nodes, each under its own Patroni, with synchronous replication.
#
#   scripts/ha-cluster.sh up DIR [--standby-of DIR2]
#        make and start the cluster in DIR (an empty or absent folder); wait
#        for a leader and a synchronous standby; print the licet database URL
#        naming all three nodes on the last line, the Patroni REST endpoints
#        (licet serve --patroni) on the line before. With --standby-of, the
#        cluster is a Patroni standby_cluster replicating from the cluster in
#        DIR2 (the backup region): it waits for a standby leader instead.
#   scripts/ha-cluster.sh leader DIR     print the leader node's Patroni PID, then its postmaster PID
#   scripts/ha-cluster.sh members DIR    print each node: name, role, state, Patroni PID, postmaster PID, ports
#   scripts/ha-cluster.sh promote DIR    make a standby cluster a primary cluster (the disaster drill)
#   scripts/ha-cluster.sh start DIR N    start node N's Patroni again (after it was killed)
#   scripts/ha-cluster.sh down DIR       stop everything started in DIR (even frozen processes)
#
# Run as root (Patroni and PostgreSQL then run as the postgres user) or as
# that user. Settings (environment): HA_TTL (8), HA_LOOP_WAIT (1),
# HA_RETRY_TIMEOUT (3), HA_SYNC (true: synchronous_mode; false: asynchronous),
# HA_SYNC_STRICT (false). docs/OPERATIONS.md says what each trades.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x "$bindir/initdb" ]] || { echo "ha-cluster: PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
for tool in /usr/bin/patroni etcd curl; do
	command -v "$tool" >/dev/null || { echo "ha-cluster: $tool not found (apt-get install patroni etcd-server curl)" >&2; exit 1; }
done

as_pg() {
	if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# free_ports N: N distinct TCP ports free on 127.0.0.1 now.
free_ports() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# status URL: the HTTP status of a GET, 000 when there is no answer within a second.
status() { curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" 2>/dev/null || true; }

# Patroni REST paths: a primary cluster's leader answers /primary; a
# standby cluster's leader answers /standby-leader.
leader_path() { if [[ -f "$1/standby-of" ]]; then echo /standby-leader; else echo /primary; fi; }

pidof_file() { [[ -f "$1" ]] && head -1 "$1" 2>/dev/null || true; }

up() {
	local dir=$1 standby_of=${2:-}
	if [[ -e "$dir/ports" ]]; then
		echo "ha-cluster: $dir already holds a cluster (down it first)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	local ttl=${HA_TTL:-8} loop_wait=${HA_LOOP_WAIT:-1} retry=${HA_RETRY_TIMEOUT:-3}
	local sync=${HA_SYNC:-true} strict=${HA_SYNC_STRICT:-false}
	read -r etcd_client etcd_peer p1 p2 p3 r1 r2 r3 <<<"$(free_ports 8)"
	echo "$etcd_client $etcd_peer $p1 $p2 $p3 $r1 $r2 $r3" >"$dir/ports"

	mkdir -p "$dir/etcd"
	setsid etcd --name etcd --data-dir "$dir/etcd/data" \
		--listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
		--listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
		--initial-cluster "etcd=http://127.0.0.1:$etcd_peer" --enable-v2=true >"$dir/etcd/etcd.log" 2>&1 </dev/null &
	echo $! >"$dir/etcd/pid"
	for _ in $(seq 100); do
		[[ $(status "http://127.0.0.1:$etcd_client/health") == 200 ]] && break
		sleep 0.1
	done

	local standby_block=""
	if [[ -n "$standby_of" ]]; then
		standby_of=$(cd "$standby_of" && pwd)
		echo "$standby_of" >"$dir/standby-of"
		# The standby cluster streams from whichever node of the primary
		# cluster leads: libpq tries the hosts in turn for a read-write one.
		read -r _ _ sp1 sp2 sp3 _ <<<"$(cat "$standby_of/ports")"
		standby_block="    standby_cluster:
      host: 127.0.0.1,127.0.0.1,127.0.0.1
      port: $sp1,$sp2,$sp3
      create_replica_methods: [basebackup]"
	fi

	# Patroni talks to etcd through its v2 API (etcd: below, etcd started
	# with --enable-v2): there a leader renews its key by compare-and-swap on
	# its own name. Through the v3 API, Debian 12's Patroni 3.0.2 renews by
	# an unconditional put when its lease has expired, judged on its watch
	# cache: a leader frozen past the ttl that thaws overwrites the key the
	# new leader holds, takes leadership back and has the others pg_rewind,
	# discarding every write acknowledged since the failover (fixed in
	# Patroni 3.0.3, patroni/patroni#2689; TestHALeaderNodeFrozen caught it).
	local i port rest
	for i in 1 2 3; do
		port=$(eval echo "\$p$i") rest=$(eval echo "\$r$i")
		local nd="$dir/n$i"
		mkdir -p "$nd"
		chmod 700 "$nd"
		cat >"$nd/patroni.yml" <<YML
scope: licet
name: n$i
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$rest
  connect_address: 127.0.0.1:$rest
etcd:
  hosts: 127.0.0.1:$etcd_client
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync
    synchronous_mode_strict: $strict
$standby_block
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        max_connections: 200
        shared_buffers: 32MB
        wal_keep_size: 128MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - host replication postgres 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: $nd/data
  bin_dir: $bindir
  pgpass: $nd/pgpass
  authentication:
    replication:
      username: postgres
    superuser:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $nd
  pg_hba:
    - host replication postgres 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
watchdog:
  mode: "off"
YML
		if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$nd"; fi
		start_node "$dir" "$i"
	done

	# Wait for a leader (a standby leader for a standby cluster) and, in
	# synchronous mode, a synchronous standby.
	local path want_sync=$sync ready=""
	path=$(leader_path "$dir")
	[[ -n "$standby_of" ]] && want_sync=false
	for _ in $(seq 1200); do
		local leader=0 syncs=0
		for rest in $r1 $r2 $r3; do
			[[ $(status "http://127.0.0.1:$rest$path") == 200 ]] && leader=1
			[[ $want_sync == true && $(status "http://127.0.0.1:$rest/sync") == 200 ]] && syncs=1
		done
		if [[ $leader == 1 && ($want_sync != true || $syncs == 1) ]]; then
			ready=1
			break
		fi
		sleep 0.1
	done
	if [[ -z "$ready" ]]; then
		echo "ha-cluster: no leader within 120 s; logs in $dir/n*/patroni.log" >&2
		exit 1
	fi
	if [[ -z "$standby_of" ]]; then
		local lp
		lp=$(leader_port "$dir")
		as_pg psql -X -q -h 127.0.0.1 -p "$lp" -U postgres -d postgres -c "CREATE DATABASE licet" >/dev/null
	fi
	echo "patroni: http://127.0.0.1:$r1,http://127.0.0.1:$r2,http://127.0.0.1:$r3"
	echo "postgres://postgres@127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3/licet?target_session_attrs=read-write&sslmode=disable&connect_timeout=2"
}

start_node() { # DIR N
	local nd="$1/n$2"
	# Debian's python3 has Patroni's modules; another python3 earlier on
	# PATH may not.
	as_pg setsid /usr/bin/python3 /usr/bin/patroni "$nd/patroni.yml" >>"$nd/patroni.log" 2>&1 </dev/null &
	# runuser stops itself when its child is stopped (a frozen-node test):
	# down must wake it so that it reaps Patroni and exits.
	echo $! >"$nd/wrapper.pid"
	# setsid and runuser fork: record the Patroni process itself.
	local pid=""
	for _ in $(seq 50); do
		pid=$(pgrep -f -- "^/usr/bin/python3 /usr/bin/patroni $nd/patroni.yml" | head -1 || true)
		[[ -n "$pid" ]] && break
		sleep 0.1
	done
	echo "$pid" >"$nd/patroni.pid"
}

# leader_node DIR: the number of the node whose Patroni holds the leader lock.
leader_node() {
	local dir=$1 path i rest
	path=$(leader_path "$dir")
	read -r _ _ _ _ _ r1 r2 r3 <<<"$(cat "$dir/ports")"
	for i in 1 2 3; do
		rest=$(eval echo "\$r$i")
		if [[ $(status "http://127.0.0.1:$rest$path") == 200 ]]; then
			echo "$i"
			return
		fi
	done
	return 1
}

leader_port() {
	local n
	n=$(leader_node "$1")
	read -r _ _ p1 p2 p3 _ <<<"$(cat "$1/ports")"
	eval echo "\$p$n"
}

# node_pids NODEDIR: its Patroni, its postmaster and the postmaster's children.
node_pids() {
	local p m
	p=$(pidof_file "$1/patroni.pid")
	m=$(pidof_file "$1/data/postmaster.pid")
	[[ -n "$p" ]] && echo "$p"
	if [[ -n "$m" ]]; then
		echo "$m"
		pgrep -P "$m" || true
	fi
}

leader() {
	local dir=$1 n
	n=$(leader_node "$dir") || { echo "ha-cluster: no leader now" >&2; exit 1; }
	echo "$(pidof_file "$dir/n$n/patroni.pid") $(pidof_file "$dir/n$n/data/postmaster.pid")"
}

members() {
	local dir=$1 i
	read -r _ _ p1 p2 p3 r1 r2 r3 <<<"$(cat "$dir/ports")"
	for i in 1 2 3; do
		local rest port role
		rest=$(eval echo "\$r$i") port=$(eval echo "\$p$i")
		role=$({ curl -s -m 1 "http://127.0.0.1:$rest/patroni" 2>/dev/null || true; } | /usr/bin/python3 -c 'import json,sys
try:
    d = json.load(sys.stdin); print(d.get("role", "?"), d.get("state", "?"))
except Exception:
    print("unreachable -")')
		echo "n$i $role $(pidof_file "$dir/n$i/patroni.pid") $(pidof_file "$dir/n$i/data/postmaster.pid") postgres=$port rest=$rest"
	done
}

promote() {
	local dir=$1 rest
	[[ -f "$dir/standby-of" ]] || { echo "ha-cluster: $dir is not a standby cluster" >&2; exit 1; }
	read -r _ _ _ _ _ rest _ <<<"$(cat "$dir/ports")"
	# Removing standby_cluster from the cluster's configuration in etcd makes
	# the standby leader promote itself; the others follow it.
	curl -sf -m 10 -X PATCH -H 'Content-Type: application/json' -d '{"standby_cluster":null}' \
		"http://127.0.0.1:$rest/config" >/dev/null
	rm -f "$dir/standby-of"
	for _ in $(seq 600); do
		leader_node "$dir" >/dev/null && return 0
		sleep 0.1
	done
	echo "ha-cluster: the standby cluster did not promote within 60 s" >&2
	exit 1
}

down() {
	local dir=$1 i pid
	[[ -d "$dir" ]] || return 0
	for i in 1 2 3; do
		local nd="$dir/n$i"
		[[ -d "$nd" ]] || continue
		# Thaw every process of this node (a test may have frozen them),
		# then stop them.
		node_pids "$nd" | xargs -r kill -CONT 2>/dev/null || true
		pid=$(pidof_file "$nd/patroni.pid")
		[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
		pid=$(pidof_file "$nd/wrapper.pid")
		if [[ -n "$pid" ]]; then
			kill -CONT "$pid" 2>/dev/null || true
			pkill -CONT -P "$pid" 2>/dev/null || true # runuser, under the subshell
		fi
		pid=$(pidof_file "$nd/data/postmaster.pid")
		if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
			kill -QUIT "$pid" 2>/dev/null || true # immediate shutdown
		fi
	done
	pid=$(pidof_file "$dir/etcd/pid")
	[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		local alive=""
		for i in 1 2 3; do
			pid=$(pidof_file "$dir/n$i/data/postmaster.pid")
			[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && alive=1
		done
		[[ -z "$alive" ]] && break
		sleep 0.1
	done
	for i in 1 2 3; do
		pid=$(pidof_file "$dir/n$i/data/postmaster.pid")
		[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$dir/ports"
}

cmd=${1:-}
case "$cmd" in
up)
	[[ $# -ge 2 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
	if [[ ${3:-} == --standby-of ]]; then up "$2" "$4"; else up "$2"; fi
	;;
leader) leader "$2" ;;
members) members "$2" ;;
promote) promote "$2" ;;
start) start_node "$(cd "$2" && pwd)" "$3" ;;
down) down "$2" ;;
*)
	sed -n '2,22p' "$0" >&2
	exit 2
	;;
esac
