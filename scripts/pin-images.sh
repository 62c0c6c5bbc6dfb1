#!/usr/bin/env bash
# Pins every base image of deploy/Dockerfile to the digest its tag names
# now: "FROM golang:1.26 AS build" becomes "FROM golang:1.26@sha256:… AS build"
# (a line already pinned is resolved again from its tag). Needs `crane` or
# `docker buildx`, and the registries. Review the diff, build, run the
# tests, commit. docs/OPERATIONS.md ("Packaging") says when to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-deploy/Dockerfile}

digest() {
	if command -v crane >/dev/null; then
		crane digest "$1"
	else
		docker buildx imagetools inspect "$1" | awk '$1 == "Digest:" { print $2; exit }'
	fi
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line; do
	if [[ $line =~ ^FROM[[:space:]]+([^[:space:]@]+)(@sha256:[0-9a-f]+)?(.*)$ ]]; then
		tag=${BASH_REMATCH[1]} rest=${BASH_REMATCH[3]}
		d=$(digest "$tag")
		[[ $d == sha256:* ]] || { echo "pin-images: no digest for $tag" >&2; exit 1; }
		echo "FROM $tag@$d$rest"
		echo "pinned $tag to $d" >&2
	else
		printf '%s\n' "$line"
	fi
done <"$file" >"$tmp"
cat "$tmp" >"$file"
