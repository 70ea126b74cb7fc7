#!/usr/bin/env python3
"""A large filing upload through the real HTTP server: memory and speed.

    benches/upload.py [--bin PATH] [--rows N ...] [--workdir DIR]

For each N, writes the demo `filings.csv` of about N records (`ecomshare
demo`, 36 months to 2025-12, seed 1), starts `ecomshare serve` on a fresh
data directory (open local mode on loopback, no rate limit, the upload
limit raised above the file), and streams the file to
`POST /api/v1/filings` with curl (`-T`, so curl reads the file as it sends
and never holds it). While the upload and its ingest run, it samples the
server's resident memory; at the end it reads the kernel's high-water mark
(VmHWM) of the server process. It prints one line per N: file size,
records accepted, seconds from the first byte sent to the ingest report,
MB/s, the server's peak RSS in MiB, and whether the spool file is gone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
import queries  # noqa: E402


def vm_value(pid: int, key: str) -> int:
    """A /proc/PID/status value in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def run_one(binary: Path, rows: int, workdir: Path, log) -> dict:
    out = workdir / f"upload-{rows}"
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "filings.csv"
    if not csv.exists():
        log(f"generating about {rows:,} records")
        files, _ = compare.generate(binary, rows, out)
        csv = files[0]
    size = csv.stat().st_size
    data = out / "data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    port = queries.free_port()
    limit_mb = size // (1 << 20) + 64
    config = out / "ecomshare.toml"
    config.write_text("upload_timeout_s = 86400\n")
    server = subprocess.Popen(
        [str(binary), "--config", str(config), "--data", str(data), "serve", "--no-demo", "--no-warm",
         "--rate-limit-per-s", "0", "--max-upload-mb", str(limit_mb), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=open(out / "server.log", "w"),
    )
    try:
        for _ in range(200):
            try:
                queries.get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        idle = vm_value(server.pid, "VmRSS") // 1024
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    samples.append(vm_value(server.pid, "VmRSS") // 1024)
                except (OSError, KeyError):
                    return
                time.sleep(0.2)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        start = time.perf_counter()
        r = subprocess.run(
            ["curl", "-sS", "-X", "POST", "-T", str(csv), "-H", "Content-Type: text/csv",
             "-H", "Expect:", f"http://127.0.0.1:{port}/api/v1/filings"],
            capture_output=True, check=True,
        )
        seconds = time.perf_counter() - start
        done.set()
        t.join()
        peak = vm_value(server.pid, "VmHWM") // 1024
        report = json.loads(r.stdout)
        if "error" in report:
            raise compare.BenchError(f"the upload was refused: {report}")
        spool = list((data / "uploads").glob("*")) if (data / "uploads").exists() else []
        accepted = sum(f["accepted"] for f in report["files"])
        return {
            "rows": rows,
            "bytes": size,
            "accepted": accepted,
            "seconds": seconds,
            "mb_per_s": size / 1e6 / seconds,
            "idle_mib": idle,
            "peak_mib": peak,
            "sampled_max_mib": max(samples, default=0),
            "spool_left": len(spool),
        }
    finally:
        server.terminate()
        server.wait()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(compare.DEFAULT_BIN))
    p.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 30_000_000])
    p.add_argument("--workdir", default="/tmp/ecomshare-bench")
    a = p.parse_args(argv)
    binary, workdir = Path(a.bin), Path(a.workdir)
    compare.check_binary(binary)

    def log(m: str) -> None:
        print(f"[upload] {m}", file=sys.stderr, flush=True)

    print("| file | records accepted | seconds | MB/s | server idle MiB | server peak MiB | spool files left |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rows in a.rows:
        r = run_one(binary, rows, workdir, log)
        print(f"| {r['bytes'] / 1e9:.2f} GB | {r['accepted']:,} | {r['seconds']:.1f} | {r['mb_per_s']:.1f} "
              f"| {r['idle_mib']} | {r['peak_mib']} | {r['spool_left']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
