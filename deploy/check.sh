#!/usr/bin/env bash
# Checks the deployment recipes on a machine without a container engine
# (run by .ci/run after the tests, and by hand):
#  1. the systemd unit passes `systemd-analyze verify` and keeps its sandbox;
#  2. the Dockerfile's build stage (deploy/build.sh, dev profile: the test
#     build) and runtime stage (deploy/runtime-setup.sh, under a scratch
#     root) run as plain shell steps;
#  3. the staged binary, run as the image runs it (its ENV and CMD, as uid
#     10001 on the staged data directory, after the documented first token)
#     turns healthy by the image's HEALTHCHECK command and stops cleanly on
#     its STOPSIGNAL.
# A tool this needs and lacks skips its step with a reason, or fails under CI.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
# The service user (uid 10001) must reach the staged root inside it.
chmod 0755 "$work"
server=
cleanup() {
    [ -n "$server" ] && kill -KILL "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
missing() {
    if [ -n "${CI:-}" ]; then
        echo "deploy/check.sh: FAIL: $1 is needed (CI is set, so this does not skip)" >&2
        exit 1
    fi
    echo "deploy/check.sh: SKIP: $1 not found" >&2
}
unit=deploy/ecomshare.service

echo "== systemd unit"
for setting in 'User=ecomshare' 'ReadWritePaths=/var/lib/ecomshare' 'NoNewPrivileges=yes' 'ProtectSystem=strict'; do
    grep -qx "$setting" "$unit" || { echo "$unit lacks $setting" >&2; exit 1; }
done
# Only the data directory is writable: no other ReadWritePaths line.
[ "$(grep -c '^ReadWritePaths=' "$unit")" = 1 ] || { echo "$unit: more than one ReadWritePaths" >&2; exit 1; }

echo "== build stage (deploy/build.sh, dev profile)"
ECOMSHARE_BUILD_PROFILE=dev sh deploy/build.sh "$work/out" "$work/symbols"

echo "== runtime stage (deploy/runtime-setup.sh under a scratch root)"
root=$work/root
mkdir -p "$root/etc"
for f in passwd group shadow gshadow; do
    if [ -f "/etc/$f" ]; then cp "/etc/$f" "$root/etc/$f"; else : >"$root/etc/$f"; fi
done
sh deploy/runtime-setup.sh "$root"
grep -q '^ecomshare:x:10001:10001:' "$root/etc/passwd" || { echo "runtime stage made no user 10001" >&2; exit 1; }
[ "$(stat -c '%u:%g %a' "$root/var/lib/ecomshare")" = "10001:10001 750" ] || { echo "data directory owner/mode wrong" >&2; exit 1; }
cp -a "$work/out/." "$root/"

if command -v systemd-analyze >/dev/null 2>&1; then
    # The unit as installed, ExecStart pointing at the staged binary.
    sed "s#/usr/local/bin/ecomshare#$root/usr/local/bin/ecomshare#; s#/etc/ecomshare/#$root/etc/ecomshare/#" "$unit" >"$work/ecomshare.service"
    # An unknown or misspelt setting is only a warning there: fail on any.
    systemd-analyze verify --man=no "$work/ecomshare.service" 2>"$work/verify.log" || { cat "$work/verify.log" >&2; exit 1; }
    if [ -s "$work/verify.log" ]; then cat "$work/verify.log" >&2; exit 1; fi
else
    missing systemd-analyze
fi

echo "== the image's command, health check and stop signal"
dockerfile=deploy/Dockerfile
env_of() { sed -n "s/^.*\\b$1=\\([^ \\\\]*\\).*$/\\1/p" "$dockerfile" | head -1; }
health=$(sed -n 's/^HEALTHCHECK .* CMD //p' "$dockerfile")
stop=$(sed -n 's/^STOPSIGNAL //p' "$dockerfile")
cmd=$(sed -n 's/^CMD \["\(.*\)"\]$/\1/p' "$dockerfile" | sed 's/", "/ /g')
[ -n "$health" ] && [ -n "$stop" ] && [ -n "$cmd" ] || { echo "Dockerfile lacks HEALTHCHECK, STOPSIGNAL or CMD" >&2; exit 1; }
grep -q '^USER 10001' "$dockerfile" || { echo "Dockerfile does not run as uid 10001" >&2; exit 1; }
# A free loopback port stands in for the image's 0.0.0.0:8080.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health=${health//127.0.0.1:8080/127.0.0.1:$port}
# The command the image runs, as uid 10001 with the image's environment, in
# the array `service` (run as a simple command, so that `$!` of a
# background run is the server itself, not a subshell around it).
as_service() {
    local run=()
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
        run=(setpriv --reuid=10001 --regid=10001 --clear-groups)
    fi
    service=(env -i PATH="$PATH" HOME=/nonexistent
        ECOMSHARE_CONFIG="$root$(env_of ECOMSHARE_CONFIG)"
        ECOMSHARE_DATA="$root/var/lib/ecomshare"
        ECOMSHARE_ADDR="0.0.0.0:$port"
        ECOMSHARE_LOG_FORMAT="$(env_of ECOMSHARE_LOG_FORMAT)"
        "${run[@]}" "$root/usr/local/bin/ecomshare" "$@")
}
# Without a token it refuses a non-loopback address (exit 2), as documented.
as_service $cmd
set +e
"${service[@]}" >/dev/null 2>"$work/refused.log"
status=$?
set -e
[ "$status" = 2 ] || { echo "serve on 0.0.0.0 without tokens exited $status, not 2" >&2; cat "$work/refused.log" >&2; exit 1; }
as_service token create --role admin --name ops
"${service[@]}" >/dev/null
as_service $cmd
"${service[@]}" >/dev/null 2>"$work/serve.log" &
server=$!
# The pid is the server's own (env and setpriv exec it).
sleep 0.5
[ "$(readlink "/proc/$server/exe" 2>/dev/null)" = "$root/usr/local/bin/ecomshare" ] \
    || { echo "the server is not pid $server" >&2; cat "$work/serve.log" >&2; exit 1; }
healthy=
for _ in $(seq 1 600); do
    if sh -c "$health" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
done
[ -n "$healthy" ] || { echo "the health check never passed" >&2; cat "$work/serve.log" >&2; exit 1; }
# Logs are JSON lines, as ECOMSHARE_LOG_FORMAT asks.
head -1 "$work/serve.log" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())'
kill -s "${stop#SIG}" "$server"
set +e
wait "$server"
status=$?
set -e
server=
[ "$status" = 0 ] || { echo "serve exited $status after $stop" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "deploy/check.sh: ok (healthy, stopped by $stop with exit 0)"
