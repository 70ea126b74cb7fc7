#!/usr/bin/env bash
# ecomshare against DuckDB on the same generated files (see benches/README.md):
# ingest against a heavy DuckDB replica of every rule and a light DuckDB load
# (text columns, regex and join checks, revisions by a window function).
# Installs the Python packages the comparison needs, builds the release binary
# when it is missing, then runs benches/compare.py with the arguments given:
#
#   benches/compare.sh [--bin PATH] [--rows N ...] [--workdir DIR] [--repeat K]
#   benches/compare.sh self-test [--bin PATH]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c 'import duckdb, psutil' 2>/dev/null; then
    echo "installing the Python packages duckdb and psutil" >&2
    "$python" -m pip install --quiet duckdb psutil
fi

# Build only for a benchmark run that uses the default binary and lacks it.
default_bin="${CARGO_TARGET_DIR:-$repo/target}/release/ecomshare"
needs_default_bin=true
for arg in "$@"; do
    case "$arg" in
        --bin | --bin=* | self-test | -h | --help) needs_default_bin=false ;;
    esac
done
if [[ "$needs_default_bin" == true && ! -x "$default_bin" ]]; then
    echo "no release binary at $default_bin: running cargo build --release" >&2
    echo "(a clean release build takes about 45 minutes on 2 cores)" >&2
    cargo build --release --manifest-path "$repo/Cargo.toml"
fi

exec "$python" "$repo/benches/compare.py" "$@"
