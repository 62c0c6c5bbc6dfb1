#!/usr/bin/env bash
# Builds build/licet.jar with plain javac (no build tool, no dependencies).
# The library is compiled for Java 8 (Android's language level); verifying
# Ed25519 with the platform needs JDK 15+ at run time (README.md).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf build/classes
mkdir -p build/classes
javac --release 8 -Xlint:all,-options -Werror -encoding UTF-8 -d build/classes $(find src/main/java -name '*.java' | sort)
printf 'Main-Class: io.github.licet.Main\n' > build/manifest.txt
jar --create --file build/licet.jar --manifest build/manifest.txt -C build/classes .
echo "built $(pwd)/build/licet.jar"
