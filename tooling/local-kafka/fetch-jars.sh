#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars (see pom.xml) with their runtime dependencies
# and a logging backend into $WIRESEAL_KAFKA_LIBS (default: <repo>/.toolchain/kafka/libs).
# Idempotent: skipped when the stamp next to the libs folder matches pom.xml's hash.
# Exits non-zero, saying what is missing, when java or mvn is not on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIBS="${WIRESEAL_KAFKA_LIBS:-$ROOT/.toolchain/kafka/libs}"
POM="$HERE/pom.xml"
STAMP="$(dirname "$LIBS")/libs.stamp"

missing=()
command -v java >/dev/null 2>&1 || missing+=("java (a JDK/JRE 17+ runs the broker)")
command -v mvn >/dev/null 2>&1 || missing+=("mvn (Maven 3.6+ fetches the Kafka jars from Maven Central)")
if (( ${#missing[@]} )); then
  for m in "${missing[@]}"; do echo "local-kafka: missing on PATH: $m" >&2; done
  exit 3
fi

HASH="$(sha256sum "$POM" | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
  exit 0
fi

echo "local-kafka: fetching Kafka jars into $LIBS"
mkdir -p "$(dirname "$LIBS")"
TMP="$(mktemp -d "$(dirname "$LIBS")/libs.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
  -DoutputDirectory="$TMP" -DincludeScope=runtime
compgen -G "$TMP/kafka_2.13-*.jar" >/dev/null || { echo "local-kafka: maven finished but no kafka_2.13 jar was copied" >&2; exit 4; }
rm -rf "$LIBS"
mv "$TMP" "$LIBS"
trap - EXIT
echo "$HASH" > "$STAMP"
echo "local-kafka: $(ls "$LIBS" | wc -l) jars in $LIBS"
