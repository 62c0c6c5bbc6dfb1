#!/usr/bin/env bash
# The disaster drill, on one machine: the primary region (a Patroni cluster
# with licet read-write) and the backup region (a Patroni standby_cluster
# with licet --read-only) are built; the primary region is then lost, the
# standby cluster promoted, licet there restarted read-write, and devices
# carry on; finally the old region rejoins as the new standby cluster.
#
#   scripts/ha-drill.sh LICET DIR     LICET: the licet binary; DIR: an empty work folder
#
# Each step prints what it does and checks what a device sees; the script
# exits non-zero at the first surprise and always stops what it started.
# docs/OPERATIONS.md ("The backup region on Patroni") is the runbook.
set -euo pipefail
licet=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
here=$(cd "$(dirname "$0")" && pwd)
ha="$here/ha-cluster.sh"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 755 "$dir"

cleanup() {
	for f in "$dir"/*.pid; do [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true; done
	"$ha" down "$dir/a" >/dev/null 2>&1 || true
	"$ha" down "$dir/b" >/dev/null 2>&1 || true
}
trap cleanup EXIT

step() { echo "== $*"; }
fail() { echo "DRILL FAILED: $*" >&2; exit 1; }

# serve NAME DATA DATABASE [FLAGS…]: start licet, print its URL.
serve() {
	local name=$1 data=$2 db=$3 log="$dir/$1.log"
	shift 3
	"$licet" serve --listen 127.0.0.1:0 --data "$data" --database "$db" --log-format json \
		--rate-org 0 --rate-device 0 "$@" >"$log" 2>&1 &
	echo $! >"$dir/$name.pid" # serve runs in a subshell: the file is how cleanup finds it
	for _ in $(seq 300); do
		local addr
		addr=$(grep -o '"msg":"licet serving"[^}]*"addr":"[^"]*"' "$log" 2>/dev/null | grep -o '127.0.0.1:[0-9]*' | head -1 || true)
		if [[ -n "$addr" ]]; then
			echo "http://$addr"
			return
		fi
		sleep 0.1
	done
	cat "$log" >&2
	fail "$name did not start"
}

stop() { kill "$(cat "$dir/$1.pid")" 2>/dev/null || true; sleep 1; }

# check URL ORG USER: the status a device gets (or the HTTP code).
check() {
	curl -s -m 20 -H 'Content-Type: application/json' \
		-d "{\"organizationId\":\"$2\",\"userId\":\"$3\",\"deviceId\":\"dev-$3\",\"version\":\"6.1.0.0\"}" \
		"$1/v1/license/check" | /usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d.get("status") or d.get("error", {}).get("code", "?"))'
}

expect() { # WHAT GOT WANT
	[[ "$2" == "$3" ]] || fail "$1: got $2, want $3"
	echo "   $1: $2"
}

org=4F767AFF-B33F-437C-A7CB-00249948C82B
user() { printf '661BAC34-1128-40B1-9653-%012d' "$1"; }

step "primary region: a Patroni cluster, licet read-write on it"
out=$("$ha" up "$dir/a")
a_patroni=$(echo "$out" | tail -2 | head -1 | sed 's/^patroni: //')
a_url=$(echo "$out" | tail -1)
mkdir -m 700 "$dir/licet-a"
a=$(serve licet-a "$dir/licet-a" "$a_url" --patroni "$a_patroni")
export LICET_SERVER=$a LICET_TOKEN_FILE=$dir/licet-a/operator-token
"$licet" org create --id "$org" --name drill --url https://crm.example.net >/dev/null
"$licet" pool add --org "$org" --type Standard --seats 10 >/dev/null
for i in 1 2 3; do expect "device $i on the primary" "$(check "$a" "$org" "$(user "$i")")" Licensed; done

step "backup region: a standby_cluster of the primary, licet --read-only on it"
out=$("$ha" up "$dir/b" --standby-of "$dir/a")
b_patroni=$(echo "$out" | tail -2 | head -1 | sed 's/^patroni: //')
b_url=$(echo "$out" | tail -1)
b_ro_url=${b_url/target_session_attrs=read-write/target_session_attrs=any}
mkdir -m 700 "$dir/licet-b"
cp -a "$dir/licet-a/keys" "$dir/licet-a/secrets.key" "$dir/licet-b/" 2>/dev/null || cp -a "$dir/licet-a/keys" "$dir/licet-b/"
b=$(serve licet-b "$dir/licet-b" "$b_ro_url" --read-only)
for _ in $(seq 100); do [[ $(check "$b" "$org" "$(user 3)") == Licensed ]] && break; sleep 0.2; done
for i in 1 2 3; do expect "device $i on the backup" "$(check "$b" "$org" "$(user "$i")")" Licensed; done
expect "a new device on the backup" "$(check "$b" "$org" "$(user 4)")" ReadOnlyServer

step "disaster: the primary region is lost"
stop licet-a
"$ha" down "$dir/a" >/dev/null
expect "device 1 on the backup, primary gone" "$(check "$b" "$org" "$(user 1)")" Licensed

step "promote the standby cluster; restart licet there read-write"
start=$(date +%s.%N)
"$ha" promote "$dir/b"
stop licet-b
b=$(serve licet-b2 "$dir/licet-b" "$b_url" --patroni "$b_patroni")
echo "   promoted and serving read-write after $(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 1))") s"
for i in 1 2 3; do expect "device $i on the new primary" "$(check "$b" "$org" "$(user "$i")")" Licensed; done
expect "a new device on the new primary" "$(check "$b" "$org" "$(user 4)")" Licensed

step "the old region rejoins as the standby cluster of the new primary"
rm -rf "$dir/a"
"$ha" up "$dir/a" --standby-of "$dir/b" >/dev/null
read -r _ _ p1 p2 p3 _ <"$dir/a/ports"
a_ro_url="postgres://postgres@127.0.0.1:$p1,127.0.0.1:$p2,127.0.0.1:$p3/licet?target_session_attrs=any&sslmode=disable&connect_timeout=2"
mkdir -m 700 "$dir/licet-a2"
cp -a "$dir/licet-b/keys" "$dir/licet-a2/"
[[ -f "$dir/licet-b/secrets.key" ]] && cp -a "$dir/licet-b/secrets.key" "$dir/licet-a2/"
a=$(serve licet-a2 "$dir/licet-a2" "$a_ro_url" --read-only)
for _ in $(seq 100); do [[ $(check "$a" "$org" "$(user 4)") == Licensed ]] && break; sleep 0.2; done
expect "device 4 (assigned after the disaster) on the rebuilt backup" "$(check "$a" "$org" "$(user 4)")" Licensed

step "drill passed"
