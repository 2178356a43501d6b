#!/usr/bin/env bash
# Fetches the Nimbus JOSE+JWT jar with Maven into $WIRESEAL_TOOLCHAIN/java-interop/libs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${WIRESEAL_TOOLCHAIN:?source scripts/env.sh first}/java-interop/libs"
stamp="$out/.stamp"
hash="$(sha256sum "$here/pom.xml" | cut -c1-16)"
[[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]] && exit 0
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "java-interop: '$tool' is missing (Java 17 + Maven run the Nimbus interop test)" >&2; exit 3; }
done
rm -rf "$out" && mkdir -p "$out"
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$out" -DincludeScope=runtime
echo "$hash" > "$stamp"
echo "java-interop: $(ls "$out"/*.jar | wc -l) jar(s) in $out"
