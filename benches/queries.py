#!/usr/bin/env python3
"""A named query through the real HTTP server: cold, uncached and cached,
and cached responses under load — with DuckDB's time for the same
aggregation on the same data, in the same run, as the reference.

    benches/queries.py [--bin PATH] [--rows N] [--workdir DIR] [--repeat K]
                       [--duration S] [--connections C]

Uses the demo files of benches/compare.py (WORKDIR/rows-N/input, generated
when missing) and ingests them into WORKDIR/rows-N/ecomshare-queries when
that directory holds no current dataset. Needs wrk (apt-get install wrk),
duckdb and a release build. Results: printed, and written to
WORKDIR/queries-results.md and .json.

Steps, each K times unless said:
  first    a fresh `serve --no-warm`; the first request of the query
           (registers the dataset's Parquet files, plans, scans, encodes)
  uncached the same server, the same query with other parameters (a
           different year-to-date): the snapshot is loaded, the result not
  cached   the first request's URL again, 20 times in a row (result cache)
  load     once: wrk, C connections, S seconds, on the cached URL
  DuckDB   the same district x sector aggregation in DuckDB over the Parquet
           of its own ingest (compare.py's query, SQL alone, in-process)
Times are to the last byte of the response, measured by this script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the demo generator and DuckDB's side)

QUERY = "/api/v1/queries/share_by_district_sector"
FIRST = f"{QUERY}?from={compare.QUERY_FROM}&to={compare.QUERY_TO}"
OTHER = f"{QUERY}?from={compare.QUERY_FROM}&to=2025-06"
PROVINCE = f"/api/v1/queries/share_by_district?from={compare.QUERY_FROM}&to={compare.QUERY_TO}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, resp.status, body


class Server:
    def __init__(self, binary: Path, data: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            # Open local mode (no tokens) on loopback; no rate limit, so the load test measures the server.
            [str(binary), "--data", str(data), "serve", "--no-demo", "--no-warm", "--rate-limit-per-s", "0",
             "--addr", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if get(self.port, "/healthz")[1] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise compare.BenchError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def dataset(binary: Path, rows: int, workdir: Path, log) -> tuple[Path, Path]:
    base = workdir / f"rows-{rows}"
    files = [base / "input" / "filings.csv", base / "input" / "revisions.csv"]
    if not all(f.exists() for f in files):
        log(f"generating demo filings for N = {rows:,}")
        files, _ = compare.generate(binary, rows, base / "input")
    data = base / "ecomshare-queries"
    current = subprocess.run([str(binary), "--data", str(data), "query", "--list"], capture_output=True)
    manifests = sorted((data / "manifest").glob("*.json")) if (data / "manifest").exists() else []
    if current.returncode != 0 or not manifests:
        shutil.rmtree(data, ignore_errors=True)
        log("ingesting into " + str(data))
        done = subprocess.run([str(binary), "--data", str(data), "ingest", *map(str, files)], capture_output=True, text=True)
        if done.returncode != 0:
            raise compare.BenchError(done.stderr[-3000:])
    duck = base / "duckdb" / "filings.parquet"
    if not duck.exists():
        log("DuckDB ingest for the reference")
        now_us, month = compare.now_in_vietnam()
        compare.duckdb_ingest(files, base / "duckdb", compare.REFERENCE, now_us, month)
    return data, duck


def wrk(port: int, path: str, duration: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": ms("50%"), "p90_ms": ms("90%"), "p99_ms": ms("99%"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "none",
            "raw": out}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(compare.DEFAULT_BIN))
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--workdir", default="/tmp/ecomshare-bench")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--duration", type=int, default=20)
    p.add_argument("--connections", type=int, default=64)
    a = p.parse_args(argv)
    binary, workdir = Path(a.bin), Path(a.workdir)
    compare.check_binary(binary)
    if not shutil.which("wrk"):
        raise compare.BenchError("wrk is missing: apt-get install -y wrk")

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    data, duck = dataset(binary, a.rows, workdir, log)
    samples = {"first": [], "uncached": [], "cached": [], "duckdb": []}
    body = b""
    for i in range(a.repeat):
        log(f"run {i + 1}/{a.repeat}")
        server = Server(binary, data)
        try:
            seconds, status, body = get(server.port, FIRST)
            assert status == 200, body[:500]
            samples["first"].append(seconds)
            seconds, status, _ = get(server.port, OTHER)
            assert status == 200
            samples["uncached"].append(seconds)
            cached = [get(server.port, FIRST)[0] for _ in range(20)]
            samples["cached"].append(statistics.median(cached))
        finally:
            server.stop()
        samples["duckdb"].append(compare.duckdb_query(duck, compare.REFERENCE, compare.QUERY_FROM, compare.QUERY_TO)["query_seconds"])

    # Correctness: the named query's cells and DuckDB's agree exactly.
    result = json.loads(body)
    duck_result = compare.duckdb_query(duck, compare.REFERENCE, compare.QUERY_FROM, compare.QUERY_TO)
    ours = {(r["district_code"], r["sector_code"]): (Decimal(r["total_revenue_vnd"]), Decimal(r["ecommerce_revenue_vnd"]), r["filings"], r["units"])
            for r in result["rows"] if r["filings"]}
    theirs = {(r["district_code"], r["sector_code"]): (Decimal(r["total_micro"]) / 10**6, Decimal(r["ecommerce_micro"]) / 10**6, r["filings"], r["units"])
              for r in duck_result["rows"]}
    agree = ours == theirs

    log("load test")
    server = Server(binary, data)
    try:
        get(server.port, FIRST)
        load = wrk(server.port, FIRST, a.duration, a.connections)
        get(server.port, PROVINCE)
        load_province = wrk(server.port, PROVINCE, a.duration, a.connections)
    finally:
        server.stop()

    med = {k: statistics.median(v) for k, v in samples.items()}
    ref = med["duckdb"]
    lines = [
        f"Named query `share_by_district_sector` ({compare.QUERY_FROM}..{compare.QUERY_TO}, "
        f"{sum(v[2] for v in ours.values()):,} effective filings in the year) over {data} "
        f"(dataset version {result['dataset_version']}, {a.rows:,} demo records requested); "
        f"{a.repeat} runs, medians; release build `{compare.version_of(binary)}`.",
        "",
        "| step | seconds | × DuckDB (SQL alone) |",
        "|---|---:|---:|",
        f"| DuckDB, same aggregation, SQL alone (reference) | {ref:.4f} | 1.00 |",
        f"| first request after start (snapshot load + query + JSON) | {med['first']:.4f} | {med['first'] / ref:.2f} |",
        f"| uncached (loaded snapshot, new parameters) | {med['uncached']:.4f} | {med['uncached'] / ref:.2f} |",
        f"| cached (result cache), median of 20 | {med['cached']:.5f} | {med['cached'] / ref:.4f} |",
        "",
        f"wrk -t2 -c{a.connections} -d{a.duration}s --latency, server and wrk on the same 2 cores:",
        "",
        "| URL | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| `{FIRST}` | {load['rps']:.0f} | {load['p50_ms']:.2f} | {load['p90_ms']:.2f} | {load['p99_ms']:.2f} | {load['non_2xx']} | {load['socket_errors']} |",
        f"| `{PROVINCE}` | {load_province['rps']:.0f} | {load_province['p50_ms']:.2f} | {load_province['p90_ms']:.2f} | {load_province['p99_ms']:.2f} | {load_province['non_2xx']} | {load_province['socket_errors']} |",
        "",
        "figures agree with DuckDB" if agree else "FIGURES DIFFER from DuckDB",
    ]
    text = "\n".join(lines)
    print(text)
    (workdir / "queries-results.md").write_text(text + "\n", encoding="utf-8")
    (workdir / "queries-results.json").write_text(json.dumps({"samples": samples, "load": load, "load_province": load_province}, indent=1))
    return 0 if agree else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except compare.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
