#!/usr/bin/env bash
# Copies Apache Kafka's broker (kafka_2.13, pinned in pom.xml) and its runtime
# dependencies from Maven Central into .cache/kafka/libs. Maven's own cache
# (~/.m2) makes a second download unnecessary; the copy itself is skipped while
# .cache/kafka/libs/.complete matches pom.xml. Prints the libs folder.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${OTTAVO_KAFKA_CACHE:-$root/.cache/kafka}
libs=$cache/libs
stamp=$(sha256sum "$here/pom.xml" | cut -c1-16)

if [ -f "$libs/.complete" ] && [ "$(cat "$libs/.complete")" = "$stamp" ]; then
  echo "$libs"
  exit 0
fi

for tool in mvn java; do
  command -v "$tool" >/dev/null || { echo "fetch-broker.sh: '$tool' is not installed; run make kafka-broker (it installs Maven and Java 17)" >&2; exit 1; }
done

mkdir -p "$cache"
# Copy into a fresh folder and move it into place, so a broker starting from
# another process never sees half a classpath.
staging=$(mktemp -d "$cache/libs.XXXXXX")
trap 'rm -rf "$staging"' EXIT
echo "fetch-broker.sh: copying Kafka's broker jars from Maven Central into $libs" >&2
# Debian's Maven writes colour resets even in batch mode: strip them.
mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$staging" -DincludeScope=runtime 2>&1 | sed -e $'s/\x1b\\[[0-9;]*m//g' >&2
echo "$stamp" > "$staging/.complete"
rm -rf "$libs"
mv "$staging" "$libs"
trap - EXIT
echo "$libs"
