#!/usr/bin/env bash
# Builds licet.jar and runs the Java tests: every conformance vector (with
# the platform's Ed25519 and with BouncyCastle, Debian's libbcprov-java),
# the command line, the store, and a live licet serve (LICET_BIN, built
# from this checkout when unset).
set -euo pipefail
cd "$(dirname "$0")"
./build.sh >/dev/null
bc=${BCPROV_JAR:-/usr/share/java/bcprov.jar}
[ -f "$bc" ] || { echo "BouncyCastle ($bc) is required: apt-get install libbcprov-java (bash .ci/run does)" >&2; exit 1; }
if [ -z "${LICET_BIN:-}" ]; then
	LICET_BIN="$(pwd)/build/licet-server"
	(cd ../.. && go build -o "$LICET_BIN" ./cmd/licet)
	export LICET_BIN
fi
rm -rf build/test-classes
mkdir -p build/test-classes
javac -Xlint:all,-path -Werror -encoding UTF-8 -cp "build/classes:$bc" -d build/test-classes $(find src/test/java -name '*.java' | sort)
java -cp "build/classes:build/test-classes:$bc" -Dlicet.vectors=../vectors io.github.licet.Tests
