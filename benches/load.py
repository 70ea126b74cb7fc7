#!/usr/bin/env python3
"""The dashboard's requests under load, through the real server, on a
dataset already ingested (for instance the one `benches/compare.sh` leaves
in WORKDIR/rows-N/ecomshare-data).

    benches/load.py --data DIR [--bin PATH] [--duration S] [--connections C]
                    [--wrk-threads T] [--ingest FILE] [--public]

1. start-up: spawns `ecomshare serve` on DIR (no rate limit) and measures
   the time until it answers /healthz, then until the first share answer
   (the dataset version loaded), and its resident memory then;
2. first answers: each of the dashboard's requests once (nothing cached);
3. load: `wrk -tT -cC -dS` rotating over those requests (a Lua script, so
   p99.9 is read from wrk's own histogram): requests/s, p50, p99, p99.9,
   max, non-2xx answers and socket errors. wrk runs on the server's
   machine: one thread (the default) saturates a 2-core server and takes
   one core's worth from it; two take more, and the server's threads then
   wait for theirs (on 2 cores, p99 rises from about 3.5 to 5 ms at the
   same load);
4. with --ingest FILE: the same load while FILE is uploaded and ingested
   (`POST /api/v1/filings` with an admin token); the new version replaces
   the cached answers when it commits, so the load also measures the
   requests that compute them again.

Callers are a viewer (protected figures, so the first answers include
disclosure control's per-enterprise scan), an admin with --role admin
(full figures), or anonymous with --public (the server's public
dashboard). Tokens are created in DIR with
`ecomshare token create`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
import queries  # noqa: E402

REQUESTS = [
    "/api/v1/share",
    "/api/v1/share?by=district",
    "/api/v1/share?by=sector",
    "/api/v1/share?by=period",
    "/api/v1/share?by=district,sector",
    "/api/v1/share?by=period&district=380",
    "/api/v1/share?by=sector&district=389",
    "/",
    "/charts/trend.svg",
    "/charts/districts.svg",
    "/charts/heatmap.svg",
    "/charts/map.svg",
    "/charts/sectors.svg",
]

LUA = r"""
local paths = {PATHS}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {HEADERS})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f, ' ..
    '"max_ms": %.3f, "non_2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def token(binary: Path, data: Path, role: str) -> str:
    out = subprocess.run(
        [str(binary), "--data", str(data), "token", "create", "--role", role, "--name", f"bench {role}"],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)["token"]


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return time.perf_counter() - start, status


def wrk(port: int, headers: dict[str, str], duration: int, connections: int, paths: list[str],
        threads: int = 1) -> dict:
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    lua_paths = "{" + ", ".join(f'"{p}"' for p in paths) + "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA.replace("{PATHS}", lua_paths).replace("{HEADERS}", lua_headers))
        script = f.name
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s", script,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def row(label: str, r: dict) -> str:
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return (f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['p999_ms']:.2f} "
            f"| {r['max_ms']:.1f} | {r['non_2xx']} | {errors} |")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(compare.DEFAULT_BIN))
    p.add_argument("--data", required=True)
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--wrk-threads", type=int, default=1,
                   help="wrk's threads: they take cores from the server on the same machine (one saturates it)")
    p.add_argument("--ingest", help="a filings file to upload during a second load run")
    p.add_argument("--ingest-duration", type=int, default=60, help="seconds of load while --ingest runs")
    p.add_argument("--public", action="store_true", help="anonymous callers of the public dashboard")
    p.add_argument("--no-warm", action="store_true",
                   help="serve --no-warm: no background computing of the dashboard's default views")
    p.add_argument("--role", default="viewer", choices=["viewer", "admin"],
                   help="the callers' role: viewer (protected figures) or admin (full figures)")
    a = p.parse_args(argv)
    binary, data = Path(a.bin), Path(a.data)
    compare.check_binary(binary)

    viewer = token(binary, data, "viewer")
    admin = token(binary, data, "admin")
    caller = viewer if a.role == "viewer" else admin
    headers = {} if a.public else {"Authorization": f"Bearer {caller}"}
    port = queries.free_port()
    cmd = [str(binary), "--data", str(data), "serve", "--no-demo", "--rate-limit-per-s", "0",
           "--addr", f"127.0.0.1:{port}"]
    if a.public:
        cmd.append("--public-dashboard")
    if a.no_warm:
        cmd.append("--no-warm")
    # Uploads as large as the --ingest file, for as long as they take.
    config = Path(tempfile.mkdtemp()) / "ecomshare.toml"
    config.write_text("max_upload_mb = 65536\nupload_timeout_s = 86400\n")
    start = time.perf_counter()
    log = config.parent / "server.log"
    print(f"server log: {log}")
    server = subprocess.Popen([str(binary), "--config", str(config), *cmd[1:]],
                              stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        while True:
            try:
                status = queries.get(port, "/healthz")[1]
                if status != 200:
                    raise compare.BenchError(f"/healthz answered {status}; see the server's log")
                break
            except OSError:
                time.sleep(0.01)
            if time.perf_counter() - start > 600:
                raise compare.BenchError("the server did not start")
        listening = time.perf_counter() - start
        _, status = fetch(port, "/api/v1/share", headers)
        first_answer = time.perf_counter() - start
        rss = queries_rss(server.pid)
        print(f"start-up: listening after {listening:.3f} s, first share answer after {first_answer:.3f} s "
              f"(status {status}), RSS then {rss} MiB")

        print("\n| request | first answer ms | status |\n|---|---:|---:|")
        for path in REQUESTS:
            seconds, status = fetch(port, path, headers)
            print(f"| `{path}` | {seconds * 1000:.1f} | {status} |")

        api = [p for p in REQUESTS if p.startswith("/api/")]
        print(f"\nwrk -t{a.wrk_threads} -c{a.connections} -d{a.duration}s, rotating over the share API's {len(api)} requests "
              f"or all {len(REQUESTS)} (pages and charts too):\n")
        print("| run | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | non-2xx | socket errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        print(row("share API", wrk(port, headers, a.duration, a.connections, api, a.wrk_threads)), flush=True)
        print(row("all requests", wrk(port, headers, a.duration, a.connections, REQUESTS, a.wrk_threads)), flush=True)

        if a.ingest:
            upload: dict = {}

            def post() -> None:
                t0 = time.perf_counter()
                r = subprocess.run(
                    ["curl", "-sS", "-X", "POST", "-T", a.ingest, "-H", "Content-Type: text/csv", "-H", "Expect:",
                     "-H", f"Authorization: Bearer {admin}", f"http://127.0.0.1:{port}/api/v1/filings"],
                    capture_output=True, text=True,
                )
                upload["seconds"] = time.perf_counter() - t0
                upload["answer"] = r.stdout[:300]

            t = threading.Thread(target=post)
            t.start()
            # Long enough to span the upload, the validation and the commit.
            print(row("share API during an ingest", wrk(port, headers, a.ingest_duration, a.connections, api, a.wrk_threads)),
                  flush=True)
            t.join()
            print(f"\ningest of {a.ingest}: {upload['seconds']:.1f} s; answer: {upload['answer']}")
    finally:
        server.terminate()
        server.wait()
    return 0


def queries_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
