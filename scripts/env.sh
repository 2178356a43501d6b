# Sourced by ./dev and .ci/run: puts the project's own toolchain first on PATH.
WIRESEAL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WIRESEAL_ROOT
export WIRESEAL_TOOLCHAIN="$WIRESEAL_ROOT/.toolchain"
export PATH="$WIRESEAL_TOOLCHAIN/bin:$WIRESEAL_ROOT/node_modules/.bin:$PATH"
export WIRESEAL_PYTHON="$WIRESEAL_TOOLCHAIN/venv/bin/python"
export WIRESEAL_KAFKA_LIBS="$WIRESEAL_TOOLCHAIN/kafka/libs"
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1
export npm_config_loglevel=error
export npm_config_update_notifier=false
