"""An outside reader of ecomshare's warehouse: Python `deltalake` (PyPI).

Reads the Delta table at each version given and prints, as JSON, what the
filings in force at that version add up to, by period: the filings of
kind 'filing' whose row_id no row of kind 'superseded' names (the
documented anti-join), with amounts weighted exactly (amount x weight_micro,
in micro-dong). Also the table's protocol and partition columns.
tests/it/delta.rs compares it with ecomshare's own answers.

(Not `history()`: deltalake 1.6.6 numbers its commits from the loaded
version, and the process aborts at exit after it.)

usage: python3 delta_reader.py DATA_DIR VERSION...
"""

import json
import sys

from deltalake import DeltaTable


def in_force(table):
    rows = table.to_pylist()
    superseded = {r["row_id"] for r in rows if r["kind"] == "superseded"}
    return [r for r in rows if r["kind"] == "filing" and r["row_id"] not in superseded]


def main():
    data, versions = sys.argv[1], [int(v) for v in sys.argv[2:]]
    out = {}
    for version in versions:
        dt = DeltaTable(data, version=version)
        protocol = dt.protocol()
        by_period = {}
        for r in in_force(dt.to_pyarrow_table()):
            p = by_period.setdefault(r["period"], {"filings": 0, "total_micro": 0, "ecommerce_micro": 0})
            p["filings"] += 1
            p["total_micro"] += r["total_revenue_vnd"] * r["weight_micro"]
            p["ecommerce_micro"] += r["ecommerce_revenue_vnd"] * r["weight_micro"]
        out[str(version)] = {
            "delta_version": dt.version(),
            "protocol": [protocol.min_reader_version, protocol.min_writer_version],
            "partition_columns": dt.metadata().partition_columns,
            # Exact integers as text: JSON numbers would round past 2^53.
            "by_period": {
                k: {"filings": v["filings"], "total_micro": str(v["total_micro"]), "ecommerce_micro": str(v["ecommerce_micro"])}
                for k, v in sorted(by_period.items())
            },
        }
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
