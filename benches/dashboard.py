#!/usr/bin/env python3
"""The dashboard's requests through the real server, each asked for the
first time (no answer cached), on the dataset of benches/queries.py.

    benches/dashboard.py [--bin PATH] [--rows N] [--workdir DIR]

Starts `ecomshare serve --no-warm` on WORKDIR/rows-N/ecomshare-queries
(ingested by benches/queries.py when missing), asks once for /healthz (the
server is up; no dataset loaded yet), then measures, to the last byte:

  load     the first share request, which loads the dataset version
           (manifest, Parquet registration, the rollup)
  pages    for several filter sets never asked before (the default view, a
           district, a sector, a district and a sector, older periods):
           the page, whose share queries are then cached
  charts   for other filter sets never asked before: each chart as SVG
           (computing its share queries), then as PNG (cached answers,
           drawing only)
  cached   every request again (the per-version answer cache)

and prints the median and the maximum of each kind, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402
import queries  # noqa: E402

CHARTS = ["trend", "districts", "heatmap", "map", "sectors"]
PAGE_VIEWS = [
    "",
    "district=380",
    "sector=FOOD",
    "district=389&sector=HOUSEHOLD",
    "from=2024-01&to=2024-12",
    "from=2024-07&to=2025-06&district=407",
]
CHART_VIEWS = [
    "district=381",
    "sector=APPAREL",
    "district=395&sector=FOOD",
    "from=2023-01&to=2023-12",
    "from=2024-04&to=2025-03&sector=PETROLEUM",
    "to=2025-09",
]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=str(compare.DEFAULT_BIN))
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--workdir", default="/tmp/ecomshare-bench")
    a = p.parse_args(argv)
    binary, workdir = Path(a.bin), Path(a.workdir)
    compare.check_binary(binary)
    data, _ = queries.dataset(binary, a.rows, workdir, lambda m: print(m, file=sys.stderr))
    server = queries.Server(binary, data)
    times: dict[str, list[float]] = {"page": [], "svg": [], "png": []}
    cached: dict[str, list[float]] = {"page": [], "svg": [], "png": []}
    try:
        load, status, body = queries.get(server.port, "/api/v1/share")
        assert status == 200, body[:300]
        for into in (times, cached):
            for view in PAGE_VIEWS:
                q = f"?{view}" if view else ""
                s, status, body = queries.get(server.port, f"/{q}")
                assert status == 200, body[:300]
                into["page"].append(s)
            for view in CHART_VIEWS:
                for chart in CHARTS:
                    for fmt in ("svg", "png"):
                        s, status, body = queries.get(server.port, f"/charts/{chart}.{fmt}?{view}")
                        assert status == 200, (chart, fmt, view, body[:300])
                        into[fmt].append(s)
    finally:
        server.stop()
    ms = lambda v: f"{1000 * v:.1f}"  # noqa: E731
    lines = [
        f"Dashboard over {data} (release build `{compare.version_of(binary)}`), "
        f"pages for {len(PAGE_VIEWS)} filter sets, {len(CHARTS)} charts as SVG then PNG for {len(CHART_VIEWS)} others:",
        "",
        f"- loading the dataset version (first share request): {ms(load)} ms",
        "",
        "| request | first: median ms | first: max ms | cached: median ms | cached: max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {"page": "page", "svg": "chart, SVG (share queries + drawing)", "png": "chart, PNG (drawing; answers cached)"}
    for kind in ("page", "svg", "png"):
        lines.append(
            f"| {labels[kind]} | {ms(statistics.median(times[kind]))} | {ms(max(times[kind]))} | "
            f"{ms(statistics.median(cached[kind]))} | {ms(max(cached[kind]))} |"
        )
    text = "\n".join(lines)
    print(text)
    (workdir / "dashboard-results.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except compare.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
