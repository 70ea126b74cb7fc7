#!/usr/bin/env bash
# Whether two builds give byte-identical answers: serves one data directory
# (the demo dataset, made once by the first binary) with each binary and
# compares the SHA-256 of every answer in benches/same-answers.requests, of
# analysts' SQL, of CLI tables and queries, and of the monthly report in all
# four formats (two months, vi and en). For restructures that must change no
# behaviour (issue 19).
#
#   bash benches/same-answers.sh BEFORE_BINARY AFTER_BINARY [WORKDIR]
#
# Prints each side's list of hashes and exits 1 when they differ.
set -euo pipefail
before=$(realpath "$1"); after=$(realpath "$2"); work=${3:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.2; done; echo "server on $1 did not start" >&2; exit 1; }

if [ ! -d "$work/template" ]; then
  p=$(port)
  "$before" serve --data "$work/template" --addr 127.0.0.1:$p >"$work/seed.log" 2>&1 & pid=$!
  up $p; sleep 2; kill $pid; wait $pid || true
fi

answers() { # binary, out
  local bin=$1 out=$2 p; p=$(port)
  rm -rf "$out"; mkdir -p "$out/bodies"; cp -a "$work/template" "$out/data"
  "$bin" serve --data "$out/data" --addr 127.0.0.1:$p --no-demo --queries "$here/../queries" >"$out/serve.log" 2>&1 & local pid=$!
  up $p
  local b=http://127.0.0.1:$p
  req() { local name=$1; shift; curl -s -o "$out/bodies/$name" -w '%{http_code} %{content_type}\n' "$@" >"$out/bodies/$name.status"; }
  while IFS='|' read -r name header path; do
    [ -z "$name" ] && continue
    if [ -n "$header" ]; then req "$name" -H "$header" "$b$path"; else req "$name" "$b$path"; fi
  done <"$here/same-answers.requests"
  req sql_post -H 'Content-Type: application/sql' --data 'SELECT district_code, count(*) AS n FROM filings GROUP BY 1 ORDER BY 1' "$b/api/v1/sql"
  req sql_post_csv -H 'Accept: text/csv' -H 'Content-Type: application/sql' --data 'SELECT sector_code, sum(weighted_total_vnd) AS t FROM filings GROUP BY 1 ORDER BY 1' "$b/api/v1/sql"
  kill $pid; wait $pid || true
  local d="$out/data" q="$here/../queries"
  "$bin" share --data "$d" --by district --format table >"$out/bodies/cli_share_table" 2>/dev/null
  "$bin" share --data "$d" --by sector,quarter --from 2025-01 --to 2025-12 --format csv --lang en >"$out/bodies/cli_share_csv" 2>/dev/null
  "$bin" query --data "$d" --list --queries "$q" >"$out/bodies/cli_query_list" 2>/dev/null
  "$bin" query gap_to_target_by_district --data "$d" --format csv --queries "$q" >"$out/bodies/cli_query_gap" 2>/dev/null
  for lang in vi en; do for m in 2025-06 2025-11; do
    "$bin" report --data "$d" --month $m --lang $lang --out "$out/report-$m-$lang" >/dev/null 2>&1
    for f in "$out/report-$m-$lang"/*; do cp "$f" "$out/bodies/report_${m}_${lang}_$(basename "$f")"; done
  done; done
  # A named query's workbook carries the time it was made: compare its other entries.
  python3 - "$out/bodies/q_gap_xlsx" <<'PY'
import sys, zipfile
p = sys.argv[1]
z = zipfile.ZipFile(p)
parts = [(n, z.read(n)) for n in sorted(z.namelist()) if n != 'docProps/core.xml']
open(p, 'wb').write(b''.join(n.encode() + b'\0' + d for n, d in parts))
PY
  (cd "$out/bodies" && sha256sum $(ls | grep -v '\.status$' | sort) >"$out/sha256.txt" && cat *.status >"$out/status.txt")
}

answers "$before" "$work/before"
answers "$after" "$work/after"
echo "$(wc -l <"$work/before/sha256.txt") answers: $work/before/sha256.txt, $work/after/sha256.txt"
if diff "$work/before/sha256.txt" "$work/after/sha256.txt" && diff -q "$work/before/status.txt" "$work/after/status.txt"; then
  echo "identical"
else
  echo "DIFFERENT"; exit 1
fi
