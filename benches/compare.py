#!/usr/bin/env python3
"""ecomshare against DuckDB, in the same run, on the same generated files.

    benches/compare.py [--bin PATH] [--rows N ...] [--workdir DIR] [--repeat K]
    benches/compare.py self-test [--bin PATH]

The first form generates demo filings for each N, then measures each step of
each system K times, every run a child process (wall seconds and peak RSS):

  ingest  ecomshare: `BIN --data FRESH ingest filings.csv revisions.csv`
          DuckDB, heavy: `compare.py duckdb-ingest ...`: a replica of the
                     validation in SQL (check digits, every rule and reason),
                     accepted and rejected records written to Parquet (with
                     the 2025 reform: commune_code, code_not_in_force,
                     unknown_commune, the district derived from the commune)
          DuckDB, light: `compare.py duckdb-light-ingest ...`: what a user who
                     only wants a validated Parquet file writes: the CSVs read
                     as text (all_varchar), the rules as regular expressions
                     and joins to the reference tables, revisions resolved
                     with row_number() over the revision key, the effective
                     filings (and the rejections) written to Parquet
  query   ecomshare: `BIN --data DIR share --by district,sector --from --to`
          DuckDB:    `compare.py duckdb-query ...`: effective filings and exact
                     weighted sums over the Parquet of the DuckDB ingest

It prints a Markdown table (also written to WORKDIR/results.md, with the raw
samples in WORKDIR/results.json) and checks that ecomshare and the heavy
replica give the same ingest outcome and the same district x sector figures;
the light anchor's counts per file and its year total are compared with
ecomshare's too (reported, not a failure: it is not a replica).

`self-test` runs the DuckDB side on fixtures/bad_filings.csv and
fixtures/sample_filings.csv and checks every rejection reason (the light
anchor: which records it rejects); with an ecomshare binary it also compares
the figures of both on those files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "fixtures" / "reference"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
DEFAULT_BIN = TARGET_DIR / "release" / "ecomshare"

COLUMNS = [
    "unit_id",
    "district_code",
    "sector_code",
    "period",
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "submitted_at",
    "weight",
    "unit_name",
    "commune_code",
]
# district_code is required unless the file has a commune_code column (and
# then a record may name its commune instead of its district).
REQUIRED = COLUMNS[:6]

# The rejection reasons in the order the rules are checked (src/domain/rules.rs,
# src/ingest/validate.rs).
REASONS = [
    "malformed_row",
    "missing_field",
    "invalid_unit_id",
    "unknown_district",
    "code_not_in_force",
    "unknown_commune",
    "unknown_sector",
    "invalid_period",
    "future_period",
    "invalid_amount",
    "negative_amount",
    "amount_out_of_range",
    "invalid_weight",
    "invalid_timestamp",
    "ecommerce_exceeds_total",
]

# Demo dataset and query of the benchmark.
DEMO_MONTHS = 36
DEMO_SEED = 1
DEMO_END = "2025-12"
QUERY_FROM, QUERY_TO = "2025-01", "2025-12"

# The 2025 reform (src/domain/reference.rs): communes are in force from
# REFORM; districts until their own valid_to and, when the reference has
# communes, at the latest until DISTRICTS_UNTIL (the district level ended).
REFORM = "2025-07"
DISTRICTS_UNTIL = "2025-06"

VIETNAM = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7 all year
# What Rust's str::trim removes (Unicode White_Space): values are trimmed first.
WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
# DuckDB's CSV errors that ecomshare reports as malformed_row: a wrong field
# count or broken quoting. Any other CSV error ends the DuckDB ingest.
MALFORMED_ERRORS = ("TOO MANY COLUMNS", "MISSING COLUMNS", "UNQUOTED VALUE")


class BenchError(Exception):
    """A failure that ends the run with a message (and exit code 1)."""


def sql_str(s: str) -> str:
    """A SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


# --------------------------------------------------------------------------
# DuckDB ingest: read, validate, write Parquet
# --------------------------------------------------------------------------

# Rule helpers as SQL macros. Every value reaching them is trimmed and
# non-empty (empty values are NULL). Casts are TRY_CASTs so that no rule
# depends on the evaluation order of a CASE or an AND.
INGEST_MACROS = r"""
-- Trimmed (only values that start or end with white space: trimming with a
-- character set is slow), empty as NULL.
CREATE TEMP MACRO clean(s) AS
    nullif(CASE WHEN contains({ws}, s[1]) OR contains({ws}, s[-1:]) THEN trim(s, {ws}) ELSE s END, '');

-- Unit ids: 10-digit tax code, tax code + '-001'..'-999', or 12 digits.
CREATE TEMP MACRO digit_at(s, i) AS ascii(substr(s, i, 1)) - 48;
CREATE TEMP MACRO tax_remainder(s) AS
    (31 * digit_at(s, 1) + 29 * digit_at(s, 2) + 23 * digit_at(s, 3)
     + 19 * digit_at(s, 4) + 17 * digit_at(s, 5) + 13 * digit_at(s, 6)
     + 7 * digit_at(s, 7) + 5 * digit_at(s, 8) + 3 * digit_at(s, 9)) % 11;
CREATE TEMP MACRO tax_code_ok(s) AS
    regexp_full_match(s, '[0-9]{{10}}')
    AND substr(s, 3, 7) <> '0000000'
    AND tax_remainder(s) <> 0
    AND digit_at(s, 10) = 10 - tax_remainder(s);
CREATE TEMP MACRO unit_id_ok(s) AS
    regexp_full_match(s, '[0-9]{{12}}')
    OR (regexp_full_match(s, '[0-9]{{10}}(-[0-9]{{3}})?')
        AND tax_code_ok(substr(s, 1, 10))
        AND substr(s, 11) <> '-000');

-- Periods: YYYY-MM, year 0001-9999, month 01-12.
CREATE TEMP MACRO period_ok(p) AS
    regexp_full_match(p, '[0-9]{{4}}-(0[1-9]|1[0-2])') AND NOT starts_with(p, '0000');

-- Amounts: digits with an optional leading '-'; '-0' is zero, not negative.
CREATE TEMP MACRO amount_ok(s) AS regexp_full_match(s, '-?[0-9]+');
CREATE TEMP MACRO amount_negative(s) AS starts_with(s, '-') AND ltrim(s, '-0') <> '';
CREATE TEMP MACRO amount_too_big(s) AS
    length(ltrim(s, '-0')) > 16 OR TRY_CAST(s AS BIGINT) > 1000000000000000;

-- Weight in millionths: empty means 1; NULL when not a plain decimal with at
-- most 6 decimal places and at most 7 integer digits.
CREATE TEMP MACRO weight_micro(w) AS CASE
    WHEN w IS NULL THEN 1000000
    WHEN regexp_full_match(w, '[0-9]+(\.[0-9]{{1,6}})?|\.[0-9]{{1,6}}')
         AND length(ltrim(split_part(w, '.', 1), '0')) <= 7
    THEN TRY_CAST(coalesce(nullif(ltrim(split_part(w, '.', 1), '0'), ''), '0') AS BIGINT) * 1000000
         + TRY_CAST(rpad(split_part(w, '.', 2), 6, '0') AS BIGINT)
END;

-- RFC 3339 with an offset, as chrono's parse_from_rfc3339 reads it: 'T', 't'
-- or ' ' between date and time, any number of fractional digits (truncated to
-- microseconds), 'Z', 'z' or +/-HH:MM (hours <= 23), second 60 allowed.
CREATE TEMP MACRO rfc3339_parts(s) AS regexp_extract(s,
    '^([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})[Tt ]([0-9]{{2}}):([0-9]{{2}}):([0-9]{{2}})(\.[0-9]+)?'
    || '(?:[Zz]|([+\-−])([0-9]{{2}}):([0-9]{{2}}))$',
    ['y', 'mo', 'd', 'h', 'mi', 'se', 'frac', 'sign', 'oh', 'om']);
CREATE TEMP MACRO rfc3339_ok(t) AS
    t.y <> '' AND TRY_CAST(t.y || '-' || t.mo || '-' || t.d AS DATE) IS NOT NULL
    AND t.h <= '23' AND t.mi <= '59' AND t.se <= '60'
    AND (t.sign = '' OR (t.oh <= '23' AND t.om <= '59'));
CREATE TEMP MACRO rfc3339_us(t) AS
    (TRY_CAST(t.y || '-' || t.mo || '-' || t.d AS DATE) - DATE '1970-01-01') * 86400000000
    + (TRY_CAST(t.h AS BIGINT) * 3600 + TRY_CAST(t.mi AS BIGINT) * 60 + TRY_CAST(t.se AS BIGINT)) * 1000000
    + TRY_CAST(rpad(substr(t.frac, 2, 6), 6, '0') AS BIGINT)
    - CASE t.sign WHEN '' THEN 0 WHEN '+' THEN 1 ELSE -1 END
      * (coalesce(TRY_CAST(t.oh AS BIGINT), 0) * 3600 + coalesce(TRY_CAST(t.om AS BIGINT), 0) * 60) * 1000000;
"""

# One file's records with their 1-based position among its well-formed records
# (`k`; malformed records are skipped by the reader and numbered afterwards).
# The scan keeps the file's order (DuckDB preserves insertion order), so
# ROW_NUMBER() OVER () numbers records as they appear. Unlike ecomshare,
# DuckDB's reader wants one kind of line ending (LF or CRLF) per file.
# DuckDB accepts a record with extra fields when the first extra one is NULL
# (a trailing ','), so nothing may read as NULL: the NULL string is a line
# break (no unquoted value can be one) and quoted values are never NULL.
# Empty values are then '', made NULL by clean().
READ_FILE = """
SELECT {file_index} AS file_index, k, {projection}
FROM (
    SELECT row_number() OVER () AS k, *
    FROM read_csv({path}, header = true, columns = {columns}, delim = ',', quote = '"', escape = '"',
                  nullstr = {no_null}, allow_quoted_nulls = false,
                  auto_detect = false, store_rejects = true,
                  rejects_table = 'rejects_{file_index}', rejects_scan = 'rejects_scan_{file_index}')
)
"""

# Every well-formed record with the first rule it fails (NULL when accepted),
# and its district: a known commune's former district, else the district given.
# code_not_in_force is only judged for a period that is a month (else it is
# left to invalid_period): a known commune before the reform, or, without a
# commune, the district outside its valid_from..valid_to (valid_to already
# capped at the end of the district level in ref_district).
CHECK = """
CREATE TEMP TABLE checked AS
WITH given AS (
    {files}
),
parsed AS (
    -- Reference membership by joining to the reference tables.
    SELECT g.*,
           d.district_code IS NOT NULL AS district_known,
           d.valid_from AS district_from,
           d.valid_to AS district_to,
           k.commune_code IS NOT NULL AS commune_known,
           k.former_district_code,
           v.vsic_code IS NOT NULL AS sector_known,
           weight_micro(g.weight) AS weight_micro,
           rfc3339_parts(g.submitted_at) AS ts
    FROM given g
    LEFT JOIN ref_district d ON d.district_code = g.district_code
    LEFT JOIN ref_commune k ON k.commune_code = g.commune_code
    LEFT JOIN ref_vsic v ON v.vsic_code = g.sector_code
),
typed AS (
    -- An empty submitted_at means the time of ingest; NULL means invalid.
    SELECT *, CASE WHEN submitted_at IS NULL THEN {now_us} WHEN rfc3339_ok(ts) THEN rfc3339_us(ts) END
              AS submitted_at_us
    FROM parsed
)
SELECT file_index, k, {names}, weight_micro, submitted_at_us,
       coalesce(former_district_code, district_code) AS filing_district,
       CASE
           WHEN unit_id IS NULL OR (district_code IS NULL AND commune_code IS NULL) OR sector_code IS NULL
                OR period IS NULL OR total_revenue_vnd IS NULL OR ecommerce_revenue_vnd IS NULL THEN 'missing_field'
           WHEN NOT unit_id_ok(unit_id) THEN 'invalid_unit_id'
           WHEN district_code IS NOT NULL AND NOT district_known THEN 'unknown_district'
           WHEN period_ok(period) AND CASE
                    WHEN commune_code IS NOT NULL THEN commune_known AND period < {reform}
                    ELSE coalesce(period < district_from, false) OR coalesce(period > district_to, false)
                END THEN 'code_not_in_force'
           WHEN commune_code IS NOT NULL
                AND (NOT commune_known OR coalesce(district_code <> former_district_code, false))
                THEN 'unknown_commune'
           WHEN NOT sector_known THEN 'unknown_sector'
           WHEN NOT period_ok(period) THEN 'invalid_period'
           WHEN period > {current_month} THEN 'future_period'
           WHEN NOT (amount_ok(total_revenue_vnd) AND amount_ok(ecommerce_revenue_vnd)) THEN 'invalid_amount'
           WHEN amount_negative(total_revenue_vnd) OR amount_negative(ecommerce_revenue_vnd) THEN 'negative_amount'
           WHEN amount_too_big(total_revenue_vnd) OR amount_too_big(ecommerce_revenue_vnd) THEN 'amount_out_of_range'
           WHEN weight_micro IS NULL OR weight_micro NOT BETWEEN 1 AND 1000000000000 THEN 'invalid_weight'
           WHEN submitted_at_us IS NULL THEN 'invalid_timestamp'
           WHEN TRY_CAST(ecommerce_revenue_vnd AS BIGINT) > TRY_CAST(total_revenue_vnd AS BIGINT)
                THEN 'ecommerce_exceeds_total'
       END AS reason
FROM typed
"""

# Malformed records, numbered by the reader's line (the header is line 1).
# DuckDB counts a record with quoted line breaks as one line but also counts
# blank lines, which ecomshare skips: after a blank line the numbers of
# malformed records (and of records after them) run ahead by one per blank line.
MALFORMED = """
SELECT {file_index} AS file_index, CAST(line - 1 AS BIGINT) AS record, any_value(csv_line) AS csv_line
FROM rejects_{file_index}
WHERE error_type IN ({malformed_errors})
GROUP BY line
"""

# Record numbers of the well-formed records: k plus the malformed records
# before them. `good_before` is the number of well-formed records preceding a
# malformed one; ASOF takes the last malformed record with good_before < k.
NUMBERED_WITH_MALFORMED = """
CREATE TEMP VIEW numbered AS
WITH marks AS (
    SELECT file_index, good_before, max(n) AS skipped
    FROM (SELECT file_index, record - row_number() OVER w AS good_before, row_number() OVER w AS n
          FROM malformed WINDOW w AS (PARTITION BY file_index ORDER BY record))
    GROUP BY ALL
)
SELECT c.*, c.k + coalesce(m.skipped, 0) AS record
FROM checked c ASOF LEFT JOIN marks m ON c.file_index = m.file_index AND c.k > m.good_before
"""
NUMBERED_PLAIN = "CREATE TEMP VIEW numbered AS SELECT *, k AS record FROM checked"

WRITE_ACCEPTED = """
COPY (
    SELECT unit_id, filing_district AS district_code, commune_code, sector_code AS vsic_code, period,
           CAST(substr(period, 1, 4) AS INTEGER) AS year,
           CAST(substr(period, 6, 2) AS INTEGER) AS month,
           CAST(total_revenue_vnd AS BIGINT) AS total_revenue_vnd,
           CAST(ecommerce_revenue_vnd AS BIGINT) AS ecommerce_revenue_vnd,
           weight_micro, submitted_at_us, unit_name,
           CAST({batch_seq} AS BIGINT) AS batch_seq, file_index, record
    FROM numbered
    WHERE reason IS NULL
) TO {path} (FORMAT parquet, COMPRESSION zstd)
"""

WRITE_REJECTED = """
COPY (
    SELECT f.file, r.record, r.reason, CAST({batch_seq} AS BIGINT) AS batch_seq, {names}, r.raw_line
    FROM (
        SELECT file_index, record, reason, {names}, NULL AS raw_line FROM numbered WHERE reason IS NOT NULL
        UNION ALL
        SELECT file_index, record, 'malformed_row', {nulls}, csv_line FROM malformed
    ) r
    JOIN files f USING (file_index)
    ORDER BY r.file_index, r.record
) TO {path} (FORMAT parquet, COMPRESSION zstd)
"""

OUTCOME = """
SELECT file_index, reason, count(*) AS n FROM (
    SELECT file_index, reason FROM checked
    UNION ALL
    SELECT file_index, 'malformed_row' FROM malformed
) GROUP BY ALL
"""


def read_header(path: Path) -> list[str]:
    """The header row of a CSV file (its first non-empty record), trimmed."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.reader(f):
            if row:
                return [name.strip(WHITESPACE) for name in row]
    raise BenchError(f"{path}: the file is empty (no header row)")


def file_projection(path: Path) -> tuple[dict[str, str], str]:
    """The reader's columns for a file (by position) and the projection that
    names the filing columns, trimmed, whatever their order in the header."""
    header = read_header(path)
    columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
    position: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in COLUMNS:
            if name in position:
                raise BenchError(f"{path}: column {name} appears more than once in the header")
            position[name] = i
    missing = [c for c in REQUIRED if c not in position
               and not (c == "district_code" and "commune_code" in position)]
    if missing:
        raise BenchError(f"{path}: required column(s) missing from the header: {', '.join(missing)}")
    projection = ", ".join(
        f"clean(c{position[c]}) AS {c}" if c in position else f"CAST(NULL AS VARCHAR) AS {c}" for c in COLUMNS
    )
    return columns, projection


def duckdb_ingest(files: list[Path], out: Path, reference: Path, now_us: int, current_month: str) -> dict:
    """Validates `files` as one batch and writes out/filings.parquet (accepted,
    typed) and out/rejections.parquet (rejected, as given, with the reason).
    Returns the outcome per file and the time spent in DuckDB."""
    import duckdb

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = {sql_str(str(out / 'duckdb.tmp'))}")
    con.execute(INGEST_MACROS.format(ws=sql_str(WHITESPACE)))
    con.execute(f"""CREATE TEMP TABLE ref_vsic AS SELECT DISTINCT trim(vsic_code) AS vsic_code
                    FROM read_csv({sql_str(str(reference / 'vsic_codes.csv'))}, header = true, all_varchar = true)""")
    con.execute(f"""CREATE TEMP TABLE ref_commune AS
                    SELECT DISTINCT trim(unit_code) AS commune_code, trim(former_district_code) AS former_district_code
                    FROM read_csv({sql_str(str(reference / 'units_2025.csv'))}, header = true, all_varchar = true)""")
    # The months each district is in force; with communes in the reference,
    # no district is in force after the district level ended.
    (has_communes,) = con.execute("SELECT count(*) > 0 FROM ref_commune").fetchone()
    until = sql_str(DISTRICTS_UNTIL) if has_communes else "NULL"
    con.execute(f"""CREATE TEMP TABLE ref_district AS
                    SELECT DISTINCT trim(district_code) AS district_code,
                           nullif(trim(valid_from), '') AS valid_from,
                           least(nullif(trim(valid_to), ''), {until}) AS valid_to  -- least() skips NULLs
                    FROM read_csv({sql_str(str(reference / 'districts.csv'))}, header = true, all_varchar = true)""")
    con.execute("CREATE TEMP TABLE files (file_index INTEGER, file VARCHAR)")
    con.executemany("INSERT INTO files VALUES (?, ?)", [(i, str(f)) for i, f in enumerate(files)])

    reads = []
    for i, path in enumerate(files):
        columns, projection = file_projection(path)
        reads.append(READ_FILE.format(file_index=i, path=sql_str(str(path)), columns=columns, projection=projection,
                                      no_null=sql_str("\n")))
    con.execute(CHECK.format(
        files="\nUNION ALL\n".join(reads),
        names=", ".join(COLUMNS),
        now_us=now_us,
        current_month=sql_str(current_month),
        reform=sql_str(REFORM),
    ))

    errors = " UNION ALL ".join(
        f"SELECT DISTINCT error_type::VARCHAR AS error_type, {sql_str(str(path))} AS file FROM rejects_{i}"
        for i, path in enumerate(files)
    )
    for error_type, file in con.execute(errors).fetchall():
        if error_type not in MALFORMED_ERRORS:
            raise BenchError(f"{file}: DuckDB cannot read the file ({error_type})")
    malformed_errors = ", ".join(map(sql_str, MALFORMED_ERRORS))
    con.execute("CREATE TEMP TABLE malformed AS " + " UNION ALL ".join(
        MALFORMED.format(file_index=i, malformed_errors=malformed_errors) for i in range(len(files))
    ))
    (malformed_count,) = con.execute("SELECT count(*) FROM malformed").fetchone()
    con.execute(NUMBERED_WITH_MALFORMED if malformed_count else NUMBERED_PLAIN)

    batch_seq = 1
    con.execute(WRITE_ACCEPTED.format(batch_seq=batch_seq, path=sql_str(str(out / "filings.parquet"))))
    con.execute(WRITE_REJECTED.format(
        batch_seq=batch_seq,
        names=", ".join(COLUMNS),
        nulls=", ".join("NULL" for _ in COLUMNS),
        path=sql_str(str(out / "rejections.parquet")),
    ))

    per_file = [{"file": str(f), "records": 0, "accepted": 0, "rejected": 0, "reasons": {}} for f in files]
    for file_index, reason, n in con.execute(OUTCOME).fetchall():
        entry = per_file[file_index]
        entry["records"] += n
        if reason is None:
            entry["accepted"] += n
        else:
            entry["rejected"] += n
            entry["reasons"][reason] = n
    con.close()
    shutil.rmtree(out / "duckdb.tmp", ignore_errors=True)
    return {"files": per_file, "seconds": time.perf_counter() - started}


# --------------------------------------------------------------------------
# DuckDB, light: what a user who only wants a validated Parquet file writes
# --------------------------------------------------------------------------

# The lighter anchor (issue 23): the files read as text with DuckDB's own CSV
# sniffer (`all_varchar = true`), the contract's rules as regular expressions
# and joins to the reference tables, revisions resolved with a window
# function, Parquet written. Deliberately not the replica above: no check
# digit, negative amounts are simply `invalid_amount` (the regex fails), a
# record with an extra trailing field is read as DuckDB reads it, timestamps
# are whatever DuckDB's TIMESTAMPTZ cast accepts after an RFC 3339 regex, and
# records are numbered among a file's well-formed records. Its outcome is
# expected to equal ecomshare's on the demo files, not on hostile ones.
LIGHT_READ = """
SELECT {file_index} AS file_index, record, {projection}
FROM (
    SELECT row_number() OVER () AS record, *
    FROM read_csv({path}, header = true, all_varchar = true,
                  store_rejects = true, rejects_table = 'light_rejects_{file_index}',
                  rejects_scan = 'light_rejects_scan_{file_index}')
)
"""

LIGHT_CHECK = r"""
CREATE TEMP TABLE light_checked AS
WITH given AS (
    {files}
),
joined AS (
    SELECT g.*,
           regexp_full_match(g.period, '[0-9]{{4}}-(0[1-9]|1[0-2])') AS period_ok,
           d.district_code IS NOT NULL AS district_known,
           coalesce(g.period >= d.valid_from, true) AND coalesce(g.period <= d.valid_to, true) AS district_in_force,
           k.commune_code IS NOT NULL AS commune_known,
           k.former_district_code,
           v.vsic_code IS NOT NULL AS sector_known,
           CASE WHEN regexp_full_match(g.submitted_at, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt ]'
                    || '[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]+)?([Zz]|[+-][0-9]{{2}}:[0-9]{{2}})')
                THEN TRY_CAST(g.submitted_at AS TIMESTAMPTZ) END AS submitted_ts
    FROM given g
    LEFT JOIN light_district d ON d.district_code = g.district_code
    LEFT JOIN light_commune k ON k.commune_code = g.commune_code
    LEFT JOIN light_vsic v ON v.vsic_code = g.sector_code
)
SELECT file_index, record, {names},
       coalesce(former_district_code, district_code) AS filing_district,
       coalesce(submitted_ts, make_timestamp({now_us})::TIMESTAMPTZ) AS submitted_ts,
       CASE
           WHEN unit_id IS NULL OR coalesce(district_code, commune_code) IS NULL OR sector_code IS NULL
                OR period IS NULL OR total_revenue_vnd IS NULL OR ecommerce_revenue_vnd IS NULL THEN 'missing_field'
           WHEN NOT regexp_full_match(unit_id, '[0-9]{{10}}(-[0-9]{{3}})?|[0-9]{{12}}') THEN 'invalid_unit_id'
           WHEN district_code IS NOT NULL AND NOT district_known THEN 'unknown_district'
           WHEN period_ok AND CASE WHEN commune_code IS NULL THEN NOT district_in_force
                                   ELSE commune_known AND period < {reform} END THEN 'code_not_in_force'
           WHEN commune_code IS NOT NULL AND (NOT commune_known OR district_code <> former_district_code)
                THEN 'unknown_commune'
           WHEN NOT sector_known THEN 'unknown_sector'
           WHEN NOT period_ok THEN 'invalid_period'
           WHEN period > {current_month} THEN 'future_period'
           WHEN NOT (regexp_full_match(total_revenue_vnd, '[0-9]+')
                     AND regexp_full_match(ecommerce_revenue_vnd, '[0-9]+')) THEN 'invalid_amount'
           WHEN coalesce(TRY_CAST(total_revenue_vnd AS BIGINT) > 1000000000000000, true)
                OR coalesce(TRY_CAST(ecommerce_revenue_vnd AS BIGINT) > 1000000000000000, true)
                THEN 'amount_out_of_range'
           WHEN weight IS NOT NULL AND NOT coalesce(regexp_full_match(weight, '[0-9]*(\.[0-9]{{1,6}})?')
                AND TRY_CAST(weight AS DECIMAL(18, 6)) BETWEEN 0.000001 AND 1000000, false) THEN 'invalid_weight'
           WHEN submitted_at IS NOT NULL AND submitted_ts IS NULL THEN 'invalid_timestamp'
           WHEN TRY_CAST(ecommerce_revenue_vnd AS BIGINT) > TRY_CAST(total_revenue_vnd AS BIGINT)
                THEN 'ecommerce_exceeds_total'
       END AS reason
FROM joined
"""

# The effective filing of each revision key: the latest submitted_at, then the
# later file, then the later record.
LIGHT_WRITE_ACCEPTED = """
COPY (
    SELECT unit_id, filing_district AS district_code, commune_code, sector_code AS vsic_code, period,
           CAST(total_revenue_vnd AS BIGINT) AS total_revenue_vnd,
           CAST(ecommerce_revenue_vnd AS BIGINT) AS ecommerce_revenue_vnd,
           coalesce(CAST(weight AS DECIMAL(13, 6)), 1) AS weight,
           submitted_ts AS submitted_at, unit_name, file_index, record
    FROM light_checked
    WHERE reason IS NULL
    QUALIFY row_number() OVER (
        PARTITION BY unit_id, filing_district, commune_code, sector_code, period
        ORDER BY submitted_ts DESC, file_index DESC, record DESC
    ) = 1
) TO {path} (FORMAT parquet, COMPRESSION zstd)
"""

LIGHT_WRITE_REJECTED = """
COPY (
    SELECT f.file, r.record, r.reason, {names}, r.raw_line
    FROM (
        SELECT file_index, record, reason, {names}, NULL AS raw_line FROM light_checked WHERE reason IS NOT NULL
        {malformed}
    ) r
    JOIN light_files f USING (file_index)
) TO {path} (FORMAT parquet, COMPRESSION zstd)
"""


def light_projection(path: Path) -> str:
    """The filing columns of a file, trimmed, empty as NULL (NULL when the
    header lacks the column); the reader names the columns from the header."""
    header = read_header(path)
    missing = [c for c in REQUIRED if c not in header and not (c == "district_code" and "commune_code" in header)]
    if missing:
        raise BenchError(f"{path}: required column(s) missing from the header: {', '.join(missing)}")
    return ", ".join(f"nullif(trim({sql_ident(c)}), '') AS {c}" if c in header else f"CAST(NULL AS VARCHAR) AS {c}"
                     for c in COLUMNS)


def sql_ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def duckdb_light_ingest(files: list[Path], out: Path, reference: Path, now_us: int, current_month: str) -> dict:
    """The light anchor: validates `files` as one batch with regular
    expressions and joins, writes the effective accepted filings (revisions
    resolved) to out/filings.parquet and the rejected records to
    out/rejections.parquet. Returns the outcome per file, the number of
    effective filings and the time spent in DuckDB."""
    import duckdb

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET temp_directory = {sql_str(str(out / 'duckdb.tmp'))}")

    def ref(name: str) -> str:
        return f"read_csv({sql_str(str(reference / name))}, header = true, all_varchar = true)"

    con.execute(f"""CREATE TEMP TABLE light_vsic AS
                    SELECT DISTINCT trim(vsic_code) AS vsic_code FROM {ref('vsic_codes.csv')}""")
    con.execute(f"""CREATE TEMP TABLE light_commune AS
                    SELECT DISTINCT trim(unit_code) AS commune_code,
                           trim(former_district_code) AS former_district_code
                    FROM {ref('units_2025.csv')}""")
    # Districts are in force until their valid_to, and none after the district
    # level ended (when the reference has communes).
    (has_communes,) = con.execute("SELECT count(*) > 0 FROM light_commune").fetchone()
    until = sql_str(DISTRICTS_UNTIL) if has_communes else "NULL"
    con.execute(f"""CREATE TEMP TABLE light_district AS
                    SELECT DISTINCT trim(district_code) AS district_code, nullif(trim(valid_from), '') AS valid_from,
                           least(nullif(trim(valid_to), ''), {until}) AS valid_to
                    FROM {ref('districts.csv')}""")
    con.execute("CREATE TEMP TABLE light_files (file_index INTEGER, file VARCHAR)")
    con.executemany("INSERT INTO light_files VALUES (?, ?)", [(i, str(f)) for i, f in enumerate(files)])

    reads = [LIGHT_READ.format(file_index=i, path=sql_str(str(f)), projection=light_projection(f))
             for i, f in enumerate(files)]
    con.execute(LIGHT_CHECK.format(files="\nUNION ALL\n".join(reads), names=", ".join(COLUMNS), now_us=now_us,
                                   current_month=sql_str(current_month), reform=sql_str(REFORM)))
    (effective,) = con.execute(
        LIGHT_WRITE_ACCEPTED.format(path=sql_str(str(out / "filings.parquet")))
    ).fetchone()

    # Records DuckDB's reader could not read (a missing field, broken quoting)
    # are counted as malformed_row, numbered by their line.
    malformed = " ".join(
        f"UNION ALL SELECT {i}, CAST(line - 1 AS BIGINT), 'malformed_row', "
        f"{', '.join('NULL' for _ in COLUMNS)}, any_value(csv_line) FROM light_rejects_{i} GROUP BY line"
        for i in range(len(files))
    )
    con.execute(LIGHT_WRITE_REJECTED.format(names=", ".join(COLUMNS), malformed=malformed,
                                            path=sql_str(str(out / "rejections.parquet"))))

    per_file = [{"file": str(f), "records": 0, "accepted": 0, "rejected": 0, "reasons": {}} for f in files]
    outcome = "SELECT file_index, reason, count(*) FROM light_checked GROUP BY ALL" + "".join(
        f" UNION ALL SELECT {i}, 'malformed_row', count(DISTINCT line) FROM light_rejects_{i} HAVING count(*) > 0"
        for i in range(len(files))
    )
    for file_index, reason, n in con.execute(outcome).fetchall():
        entry = per_file[file_index]
        entry["records"] += n
        if reason is None:
            entry["accepted"] += n
        else:
            entry["rejected"] += n
            entry["reasons"][reason] = entry["reasons"].get(reason, 0) + n
    con.close()
    shutil.rmtree(out / "duckdb.tmp", ignore_errors=True)
    return {"files": per_file, "effective": effective, "seconds": time.perf_counter() - started}


def light_totals(filings: Path, first: str, last: str) -> dict:
    """The light anchor's effective filings for first..last summed exactly
    (millionths of a đồng), for comparison with ecomshare's share total."""
    import duckdb

    con = duckdb.connect()
    total, ecommerce, n, units = con.execute(
        """SELECT sum(CAST(total_revenue_vnd AS HUGEINT) * CAST(weight * 1000000 AS BIGINT)),
                  sum(CAST(ecommerce_revenue_vnd AS HUGEINT) * CAST(weight * 1000000 AS BIGINT)),
                  count(*), count(DISTINCT unit_id)
           FROM read_parquet($filings) WHERE period BETWEEN $first AND $last""",
        {"filings": str(filings), "first": first, "last": last},
    ).fetchone()
    con.close()
    return {"total_micro": str(total or 0), "ecommerce_micro": str(ecommerce or 0), "filings": n, "units": units}


def light_differences(ecomshare_ingest: dict, ecomshare_share: dict, light: dict, totals: dict) -> list[str]:
    """Differences between ecomshare and the light anchor: records, accepted
    and rejected per file (not the reasons: the light anchor names fewer), and
    the share query's grand total against the light anchor's effective filings."""
    diffs = []
    if len(ecomshare_ingest["files"]) != len(light["files"]):
        return [f"files: ecomshare {len(ecomshare_ingest['files'])}, DuckDB light {len(light['files'])}"]
    for ours, theirs in zip(ecomshare_ingest["files"], light["files"], strict=True):
        a = (ours["records"], ours["accepted"], ours["rejected"])
        b = (theirs["records"], theirs["accepted"], theirs["rejected"])
        if a != b:
            diffs.append(f"{ours['file']} (records, accepted, rejected): ecomshare {a} DuckDB light {b}")
    t = ecomshare_share["total"]
    a = (t["total_revenue_vnd"], t["ecommerce_revenue_vnd"], t["filings"], t["units"])
    b = (vnd(totals["total_micro"]), vnd(totals["ecommerce_micro"]), totals["filings"], totals["units"])
    if a != b:
        diffs.append(f"share total (total, ecommerce, filings, units): ecomshare {a} DuckDB light {b}")
    return diffs


# --------------------------------------------------------------------------
# DuckDB query: effective filings, exact weighted sums by district x sector
# --------------------------------------------------------------------------

# Amounts times weights in millionths are exact integers (at most 10^27 each),
# summed as HUGEINT. The grand total comes from the same pass (grouping set ()).
# The revision key is (unit_id, district_code, commune_code, vsic_code, period)
# with the district as derived (a commune's former district), so filings from
# the reform on count in their commune's former district.
SHARE_QUERY = """
WITH effective AS (
    SELECT *
    FROM read_parquet($filings)
    WHERE period BETWEEN $first AND $last
    QUALIFY row_number() OVER (
        PARTITION BY unit_id, district_code, commune_code, vsic_code, period
        ORDER BY submitted_at_us DESC, batch_seq DESC, file_index DESC, record DESC
    ) = 1
)
SELECT e.district_code,
       v.group_code AS sector_code,
       sum(CAST(e.total_revenue_vnd AS HUGEINT) * e.weight_micro) AS total_micro,
       sum(CAST(e.ecommerce_revenue_vnd AS HUGEINT) * e.weight_micro) AS ecommerce_micro,
       count(*) AS filings,
       count(DISTINCT e.unit_id) AS units,
       grouping(e.district_code, v.group_code) = 3 AS is_total
FROM effective e
LEFT JOIN ref_vsic v ON v.vsic_code = e.vsic_code
GROUP BY GROUPING SETS ((e.district_code, v.group_code), ())
ORDER BY is_total, e.district_code, v.group_code
"""


def duckdb_query(filings: Path, reference: Path, first: str, last: str) -> dict:
    """The district x sector figures (exact sums in millionths of a đồng) and
    the time the share query alone took."""
    import duckdb

    con = duckdb.connect()
    con.execute("PRAGMA threads=2")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"""CREATE TEMP TABLE ref_vsic AS SELECT trim(vsic_code) AS vsic_code, trim(group_code) AS group_code
                    FROM read_csv({sql_str(str(reference / 'vsic_codes.csv'))}, header = true, all_varchar = true)""")
    started = time.perf_counter()
    result = con.execute(SHARE_QUERY, {"filings": str(filings), "first": first, "last": last}).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    rows, total = [], None
    for district, sector, total_micro, ecommerce_micro, filings_n, units, is_total in result:
        row = {
            "district_code": district,
            "sector_code": sector,
            "total_micro": str(total_micro or 0),
            "ecommerce_micro": str(ecommerce_micro or 0),
            "filings": filings_n,
            "units": units,
        }
        if is_total:
            total = row
        else:
            rows.append(row)
    return {"query_seconds": seconds, "rows": rows, "total": total}


# --------------------------------------------------------------------------
# Measuring child processes
# --------------------------------------------------------------------------

GNU_TIME = "/usr/bin/time"


@dataclass
class Sample:
    seconds: float
    peak_rss_kib: int
    stdout: str


class Meter:
    """Runs a command as a child process and measures its wall time and peak
    resident set size: with GNU time (%M, the child's maximum RSS) when it is
    there, else by polling the child and its descendants with psutil."""

    def __init__(self) -> None:
        self.method = "GNU time" if self._gnu_time_works() else "psutil"
        if self.method == "psutil":
            try:
                import psutil  # noqa: F401
            except ImportError:
                raise BenchError(
                    f"neither {GNU_TIME} (apt-get install -y time) nor psutil (pip install psutil) is available"
                ) from None

    @staticmethod
    def _gnu_time_works() -> bool:
        if not os.access(GNU_TIME, os.X_OK):
            return False
        with tempfile.NamedTemporaryFile("r") as out:
            done = subprocess.run([GNU_TIME, "-f", "%e %M", "-o", out.name, "true"], capture_output=True)
            return done.returncode == 0 and len(out.read().split()) == 2

    def run(self, cmd: list[str]) -> Sample:
        """Runs `cmd` to its end; fails on a non-zero exit code."""
        with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
            if self.method == "GNU time":
                seconds, rss_kib, code = self._run_gnu_time(cmd, stdout, stderr)
            else:
                seconds, rss_kib, code = self._run_psutil(cmd, stdout, stderr)
            stdout.seek(0)
            stderr.seek(0)
            if code != 0:
                tail = stderr.read()[-3000:] + stdout.read()[-1000:]
                raise BenchError(f"exit code {code}: {' '.join(cmd)}\n{tail}")
            return Sample(seconds, rss_kib, stdout.read())

    @staticmethod
    def _run_gnu_time(cmd, stdout, stderr) -> tuple[float, int, int]:
        with tempfile.NamedTemporaryFile("r") as report:
            started = time.perf_counter()
            done = subprocess.run([GNU_TIME, "-f", "%e %M", "-o", report.name, *cmd],
                                  stdout=stdout, stderr=stderr)
            seconds = time.perf_counter() - started
            # On failure GNU time writes a "Command exited with..." line first.
            last = report.read().strip().splitlines()[-1]
            return seconds, int(last.split()[1]), done.returncode

    @staticmethod
    def _run_psutil(cmd, stdout, stderr) -> tuple[float, int, int]:
        import psutil

        started = time.perf_counter()
        child = psutil.Popen(cmd, stdout=stdout, stderr=stderr)
        peak = 0
        while child.poll() is None:
            rss = 0
            try:
                for p in [child, *child.children(recursive=True)]:
                    rss += p.memory_info().rss
            except psutil.Error:
                pass  # a process ended between listing and reading
            peak = max(peak, rss)
            time.sleep(0.005)
        return time.perf_counter() - started, peak // 1024, child.returncode


# --------------------------------------------------------------------------
# Comparing outcomes and figures
# --------------------------------------------------------------------------

def vnd(micro: int | str) -> str:
    """Millionths of a đồng as ecomshare prints an exact amount: `1234567` or `1234567.25`."""
    micro = int(micro)
    whole, frac = divmod(abs(micro), 1_000_000)
    sign = "-" if micro < 0 else ""
    return f"{sign}{whole}" + (f".{frac:06d}".rstrip("0") if frac else "")


def share_of(ecommerce_micro: str, total_micro: str) -> float | None:
    total = int(total_micro)
    return int(ecommerce_micro) / total if total else None


def figure_differences(ecomshare: dict, duck: dict) -> list[str]:
    """Differences between `ecomshare share` JSON and the DuckDB query's rows:
    exact amounts as strings, counts, and shares to 1e-9."""

    def ours(row: dict) -> tuple:
        return (row["total_revenue_vnd"], row["ecommerce_revenue_vnd"], row["filings"], row["units"], row["share"])

    def theirs(row: dict) -> tuple:
        return (vnd(row["total_micro"]), vnd(row["ecommerce_micro"]), row["filings"], row["units"],
                share_of(row["ecommerce_micro"], row["total_micro"]))

    def same(a: tuple, b: tuple) -> bool:
        if a[:4] != b[:4] or (a[4] is None) != (b[4] is None):
            return False
        return a[4] is None or abs(a[4] - b[4]) <= 1e-9

    # ecomshare lists every district, with empty ones as zero rows; DuckDB only groups with filings.
    left = {(r["district_code"], r["sector_code"]): ours(r) for r in ecomshare["rows"] if r["filings"] > 0}
    right = {(r["district_code"], r["sector_code"]): theirs(r) for r in duck["rows"]}
    left[("*", "*")] = ours(ecomshare["total"])
    right[("*", "*")] = theirs(duck["total"]) if duck["total"] else ("0", "0", 0, 0, None)
    fields = "total, ecommerce, filings, units, share"
    diffs = []
    for key in sorted(left.keys() | right.keys()):
        a, b = left.get(key), right.get(key)
        if a is None or b is None or not same(a, b):
            diffs.append(f"district {key[0]} sector {key[1]} ({fields}): ecomshare {a} DuckDB {b}")
    return diffs


def outcome_differences(ecomshare: dict, duck: dict) -> list[str]:
    """Differences between the ingest reports: records, accepted, rejected and
    reasons per file (files in the order given)."""
    reasons = [Counter() for _ in ecomshare["files"]]
    names = [f["file"] for f in ecomshare["files"]]
    for r in ecomshare["rejections"]:
        reasons[names.index(r["file"])][r["reason"]] += 1
    if len(ecomshare["files"]) != len(duck["files"]):
        return [f"files: ecomshare {len(ecomshare['files'])}, DuckDB {len(duck['files'])}"]
    diffs = []
    for ours, counted, theirs in zip(ecomshare["files"], reasons, duck["files"], strict=True):
        a = (ours["records"], ours["accepted"], ours["rejected"], dict(counted))
        b = (theirs["records"], theirs["accepted"], theirs["rejected"], theirs["reasons"])
        if a != b:
            diffs.append(f"{ours['file']} (records, accepted, rejected, reasons): ecomshare {a} DuckDB {b}")
    return diffs


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    ecomshare: list[Sample]
    duckdb: list[Sample]
    records: int | None = None  # for records/s
    duckdb_inner: list[float] | None = None  # DuckDB's own timing of the SQL alone
    light: list[Sample] = field(default_factory=list)  # the light DuckDB anchor (ingest only)


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def now_in_vietnam() -> tuple[int, str]:
    """The ingest instant (µs since the epoch) and the current month in Asia/Ho_Chi_Minh."""
    now = datetime.now(UTC)
    return int(now.timestamp() * 1_000_000), now.astimezone(VIETNAM).strftime("%Y-%m")


def generate(binary: Path, rows: int, out: Path) -> tuple[list[Path], int]:
    """Demo filings for about `rows` records: filings.csv and revisions.csv."""
    units = math.ceil(rows / DEMO_MONTHS)
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [str(binary), "demo", "--out", str(out), "--units", str(units), "--months", str(DEMO_MONTHS),
         "--seed", str(DEMO_SEED), "--end", DEMO_END],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise BenchError(f"ecomshare demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    return [out / "filings.csv", out / "revisions.csv"], sum(f["records"] for f in report["files"])


def bench_rows(binary: Path, rows: int, workdir: Path, repeat: int, meter: Meter, log) -> dict:
    base = workdir / f"rows-{rows}"
    log(f"== N = {rows:,}: generating demo filings")
    files, records = generate(binary, rows, base / "input")
    log(f"   {records:,} records in {', '.join(f.name for f in files)}")
    data = base / "ecomshare-data"
    duck_out = base / "duckdb"
    light_out = base / "duckdb-light"
    file_args = [str(f) for f in files]

    ingest = Step("ingest", [], [], records=records)
    for i in range(repeat):
        shutil.rmtree(data, ignore_errors=True)
        ingest.ecomshare.append(meter.run([str(binary), "--data", str(data), "ingest", *file_args]))
        shutil.rmtree(duck_out, ignore_errors=True)
        ingest.duckdb.append(meter.run(worker_command("duckdb-ingest", "--out", str(duck_out), *file_args)))
        shutil.rmtree(light_out, ignore_errors=True)
        ingest.light.append(meter.run(worker_command("duckdb-light-ingest", "--out", str(light_out), *file_args)))
        log(f"   ingest {i + 1}/{repeat}: ecomshare {ingest.ecomshare[-1].seconds:.2f} s, "
            f"DuckDB heavy {ingest.duckdb[-1].seconds:.2f} s, DuckDB light {ingest.light[-1].seconds:.2f} s")
    ingest_diffs = outcome_differences(json.loads(ingest.ecomshare[-1].stdout), json.loads(ingest.duckdb[-1].stdout))

    share_cmd = [str(binary), "--data", str(data), "share", "--by", "district,sector",
                 "--from", QUERY_FROM, "--to", QUERY_TO]
    duck_cmd = worker_command("duckdb-query", "--filings", str(duck_out / "filings.parquet"),
                              "--from", QUERY_FROM, "--to", QUERY_TO)
    meter.run(share_cmd)  # warm-up, untimed (both sides)
    meter.run(duck_cmd)
    query = Step("query", [], [], duckdb_inner=[])
    for i in range(repeat):
        query.ecomshare.append(meter.run(share_cmd))
        query.duckdb.append(meter.run(duck_cmd))
        query.duckdb_inner.append(json.loads(query.duckdb[-1].stdout)["query_seconds"])
        log(f"   query {i + 1}/{repeat}: ecomshare {query.ecomshare[-1].seconds:.3f} s, "
            f"DuckDB {query.duckdb[-1].seconds:.3f} s (SQL alone {query.duckdb_inner[-1]:.3f} s)")
    figure_diffs = figure_differences(json.loads(query.ecomshare[-1].stdout), json.loads(query.duckdb[-1].stdout))
    light_diffs = light_differences(json.loads(ingest.ecomshare[-1].stdout), json.loads(query.ecomshare[-1].stdout),
                                    json.loads(ingest.light[-1].stdout),
                                    light_totals(light_out / "filings.parquet", QUERY_FROM, QUERY_TO))
    return {"rows": rows, "records": records, "steps": [ingest, query],
            "ingest_diffs": ingest_diffs, "figure_diffs": figure_diffs, "light_diffs": light_diffs,
            "light_effective": json.loads(ingest.light[-1].stdout)["effective"]}


def median_seconds(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def peak_mib(samples: list[Sample]) -> float:
    return max(s.peak_rss_kib for s in samples) / 1024


def rate(records: int | None, seconds: float) -> str:
    return f"{records / seconds:,.0f}" if records else "—"


def markdown_table(results: list[dict]) -> str:
    """One row per N and step; the ingest row has the light DuckDB anchor's
    columns beside the heavy replica's (the query has no light anchor: —)."""
    head = ("| rows (N) | records | step | ecomshare median s | DuckDB heavy (replica) median s "
            "| DuckDB light (varchar + regex + window) median s | ratio ecomshare/heavy | ratio ecomshare/light "
            "| ecomshare peak RSS MiB | DuckDB heavy peak RSS MiB | DuckDB light peak RSS MiB "
            "| ecomshare records/s | DuckDB heavy records/s | DuckDB light records/s |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in results:
        for step in r["steps"]:
            ours, theirs = median_seconds(step.ecomshare), median_seconds(step.duckdb)
            if step.light:
                light = median_seconds(step.light)
                light_cells = (f"{light:.3f}", f"{ours / light:.2f}", f"{peak_mib(step.light):.0f}",
                               rate(step.records, light))
            else:
                light_cells = ("—",) * 4
            lines.append(f"| {r['rows']:,} | {r['records']:,} | {step.name} | {ours:.3f} | {theirs:.3f} | "
                         f"{light_cells[0]} | {ours / theirs:.2f} | {light_cells[1]} | "
                         f"{peak_mib(step.ecomshare):.0f} | {peak_mib(step.duckdb):.0f} | {light_cells[2]} | "
                         f"{rate(step.records, ours)} | {rate(step.records, theirs)} | {light_cells[3]} |")
            if step.duckdb_inner:
                lines.append(f"| {r['rows']:,} | {r['records']:,} | {step.name}, SQL alone (inside the DuckDB "
                             f"process) | — | {statistics.median(step.duckdb_inner):.3f} | — | — | — "
                             f"| — | — | — | — | — | — |")
    return "\n".join(lines)


def correctness_report(results: list[dict]) -> str:
    lines = []
    for r in results:
        for what, diffs, ok in [("ingest outcomes", r["ingest_diffs"], "ingest outcomes agree"),
                                ("figures", r["figure_diffs"], "figures agree")]:
            if diffs:
                lines.append(f"- N = {r['rows']:,}: {what} DIFFER ({len(diffs)}):")
                lines.extend(f"  - {d}" for d in diffs[:50])
            else:
                lines.append(f"- N = {r['rows']:,}: {ok}")
        if r["light_diffs"]:
            lines.append(f"- N = {r['rows']:,}: the light DuckDB anchor differs from ecomshare "
                         f"({len(r['light_diffs'])}; reported, not a failure):")
            lines.extend(f"  - {d}" for d in r["light_diffs"][:50])
        else:
            lines.append(f"- N = {r['rows']:,}: the light DuckDB anchor agrees on records, accepted and rejected "
                         f"per file and on the {QUERY_FROM}..{QUERY_TO} total "
                         f"({r['light_effective']:,} effective filings written)")
    return "\n".join(lines)


def version_of(binary: Path) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
    return done.stdout.strip() or "ecomshare (version unknown)"


def check_binary(binary: Path) -> None:
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise BenchError(
            f"ecomshare binary not found at {binary}.\n"
            "Build it with `cargo build --release` (a clean release build takes about 45 minutes on 2 cores), "
            "or pass --bin PATH (benches/compare.sh builds it when it is missing)."
        )


def run_benchmark(args: argparse.Namespace) -> int:
    binary = Path(args.bin).resolve()
    check_binary(binary)
    try:
        import duckdb
    except ImportError:
        raise BenchError("the DuckDB Python package is missing: pip install duckdb psutil") from None
    if args.repeat < 1 or any(n < 1 for n in args.rows):
        raise BenchError("--repeat and --rows must be positive")
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    meter = Meter()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [bench_rows(binary, n, workdir, args.repeat, meter, log) for n in args.rows]
    report = "\n".join([
        "# ecomshare against DuckDB",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {version_of(binary)}; DuckDB {duckdb.__version__} "
        f"(2 threads); {os.cpu_count()} CPUs; median of {args.repeat} runs; peak RSS is the highest of "
        f"the runs, measured with {meter.method}. Every time is a whole child process (start-up included); "
        f"ratio > 1 means ecomshare is slower. Ingest: DuckDB heavy is the replica of every rule "
        f"(check digits, every reason); DuckDB light reads the CSVs as text, checks the rules with regular "
        f"expressions and joins, resolves revisions with a window function and writes Parquet. "
        f"Query: share by district, sector for {QUERY_FROM}..{QUERY_TO} "
        f"(after one untimed warm-up run of each).",
        "",
        markdown_table(results),
        "",
        "Correctness:",
        "",
        correctness_report(results),
        "",
    ])
    print(report)
    (workdir / "results.md").write_text(report, encoding="utf-8")
    raw = [{"rows": r["rows"], "records": r["records"],
            "steps": [{"step": s.name,
                       "ecomshare": [(x.seconds, x.peak_rss_kib) for x in s.ecomshare],
                       "duckdb": [(x.seconds, x.peak_rss_kib) for x in s.duckdb],
                       "duckdb_light": [(x.seconds, x.peak_rss_kib) for x in s.light],
                       "duckdb_sql_alone": s.duckdb_inner} for s in r["steps"]],
            "ingest_diffs": r["ingest_diffs"], "figure_diffs": r["figure_diffs"],
            "light_diffs": r["light_diffs"]} for r in results]
    (workdir / "results.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"(written to {workdir / 'results.md'} and results.json)", file=sys.stderr)
    agree = all(not r["ingest_diffs"] and not r["figure_diffs"] for r in results)
    return 0 if agree else 1


# --------------------------------------------------------------------------
# Self-test on the fixtures
# --------------------------------------------------------------------------

def self_test(args: argparse.Namespace) -> int:
    """Checks DuckDB's validation against the fixtures: in bad_filings.csv
    records 1-15 rejected with one reason each, in the order of the rules, and
    record 16 accepted; sample_filings.csv accepted whole. The light anchor:
    the same records rejected except record 3 (a wrong check digit, which it
    does not compute), reasons among the contract's codes, sample_filings.csv
    accepted whole. With an ecomshare binary, also ingests both files with it
    and compares outcomes and figures (the light anchor's on
    sample_filings.csv alone)."""
    import duckdb

    bad = REPO / "fixtures" / "bad_filings.csv"
    sample = REPO / "fixtures" / "sample_filings.csv"
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "duckdb"
        now_us, month = now_in_vietnam()
        summary = duckdb_ingest([bad, sample], out, REFERENCE, now_us, month)
        for f in summary["files"]:
            print(f"DuckDB ingest of {Path(f['file']).name}: {f['records']} records, {f['accepted']} accepted, "
                  f"{f['rejected']} rejected {f['reasons']}")

        rejections = out / "rejections.parquet"
        got = duckdb.sql(f"SELECT record, reason FROM read_parquet({sql_str(str(rejections))}) "
                         f"WHERE file = {sql_str(str(bad))} ORDER BY record").fetchall()
        expected = list(enumerate(REASONS, start=1))
        if got != expected:
            failures.append(f"bad_filings.csv rejections: expected {expected}, got {got}")
        accepted = duckdb.sql(f"SELECT record FROM read_parquet({sql_str(str(out / 'filings.parquet'))}) "
                              "WHERE file_index = 0").fetchall()
        good = len(REASONS) + 1
        if accepted != [(good,)]:
            failures.append(f"bad_filings.csv accepted records: expected [{good}], got {[r for (r,) in accepted]}")
        if summary["files"][1]["rejected"]:
            failures.append(f"sample_filings.csv is documented as valid: {summary['files'][1]['reasons']}")

        light_out = Path(tmp) / "duckdb-light"
        light = duckdb_light_ingest([bad, sample], light_out, REFERENCE, now_us, month)
        for f in light["files"]:
            print(f"DuckDB light ingest of {Path(f['file']).name}: {f['records']} records, "
                  f"{f['accepted']} accepted, {f['rejected']} rejected {f['reasons']}")
        light_rejections = sql_str(str(light_out / "rejections.parquet"))
        light_rejected = duckdb.sql(f"SELECT record, reason FROM read_parquet({light_rejections}) "
                                    f"WHERE file = {sql_str(str(bad))} ORDER BY record").fetchall()
        expected_records = [n for n in range(1, len(REASONS) + 1) if n != 3]
        if [n for n, _ in light_rejected] != expected_records:
            failures.append(f"light anchor, bad_filings.csv rejected records: expected {expected_records}, "
                            f"got {[n for n, _ in light_rejected]}")
        if not {r for _, r in light_rejected} <= set(REASONS):
            failures.append(f"light anchor: reasons outside the contract's: {light_rejected}")
        # Records 3 and 16 accepted (16 is then superseded by the same filing in sample_filings.csv).
        if (light["files"][0]["records"], light["files"][0]["accepted"]) != (good, 2):
            failures.append(f"light anchor, bad_filings.csv: expected {good} records, 2 accepted; "
                            f"got {light['files'][0]}")
        if light["files"][1]["rejected"]:
            failures.append("light anchor: sample_filings.csv is documented as valid: "
                            f"{light['files'][1]['reasons']}")

        query = duckdb_query(out / "filings.parquet", REFERENCE, QUERY_FROM, QUERY_TO)
        print(f"DuckDB query: {len(query['rows'])} district x sector rows, total {vnd(query['total']['total_micro'])} "
              f"VND, e-commerce {vnd(query['total']['ecommerce_micro'])} VND")

        binary = Path(args.bin).resolve()
        if binary.is_file():
            data = Path(tmp) / "ecomshare-data"
            meter = Meter()
            ours = json.loads(meter.run([str(binary), "--data", str(data), "ingest", str(bad), str(sample)]).stdout)
            share = json.loads(meter.run([str(binary), "--data", str(data), "share", "--by", "district,sector",
                                          "--from", QUERY_FROM, "--to", QUERY_TO]).stdout)
            diffs = outcome_differences(ours, summary) + figure_differences(share, query)
            print("compared with ecomshare: ingest outcomes and figures " + ("DIFFER" if diffs else "agree"))
            failures += diffs
            # The light anchor on the valid file alone (on bad_filings.csv it accepts record 3).
            data_sample = Path(tmp) / "ecomshare-sample"
            ours = json.loads(meter.run([str(binary), "--data", str(data_sample), "ingest", str(sample)]).stdout)
            share = json.loads(meter.run([str(binary), "--data", str(data_sample), "share", "--by",
                                          "district,sector", "--from", QUERY_FROM, "--to", QUERY_TO]).stdout)
            light_sample = Path(tmp) / "duckdb-light-sample"
            light = duckdb_light_ingest([sample], light_sample, REFERENCE, now_us, month)
            diffs = light_differences(ours, share, light,
                                      light_totals(light_sample / "filings.parquet", QUERY_FROM, QUERY_TO))
            print("compared with ecomshare on sample_filings.csv: the light anchor's outcome and total "
                  + ("DIFFER" if diffs else "agree"))
            failures += diffs
        else:
            print(f"(no ecomshare binary at {binary}: DuckDB checked against the fixtures only)")
    for f in failures:
        print("FAIL:", f)
    print("self-test passed" if not failures else f"self-test FAILED ({len(failures)})")
    return 0 if not failures else 1


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    command = argv[0] if argv and not argv[0].startswith("-") else None
    if command == "duckdb-ingest":
        p = argparse.ArgumentParser(prog="compare.py duckdb-ingest",
                                    description="DuckDB side of the ingest (run as a measured child process)")
        p.add_argument("--out", required=True, help="directory for filings.parquet and rejections.parquet")
        p.add_argument("--reference", default=str(REFERENCE), help="reference CSV directory")
        p.add_argument("--now-us", type=int, help="ingest instant, µs since the epoch [default: now]")
        p.add_argument("--current-month", help="YYYY-MM; later periods are rejected [default: now in Vietnam]")
        p.add_argument("files", nargs="+")
        a = p.parse_args(argv[1:])
        now_us, month = now_in_vietnam()
        summary = duckdb_ingest([Path(f) for f in a.files], Path(a.out), Path(a.reference),
                                a.now_us if a.now_us is not None else now_us, a.current_month or month)
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    if command == "duckdb-light-ingest":
        p = argparse.ArgumentParser(prog="compare.py duckdb-light-ingest",
                                    description="the light DuckDB anchor of the ingest (run as a measured child "
                                                "process): regex and join checks, revisions by a window function")
        p.add_argument("--out", required=True, help="directory for filings.parquet and rejections.parquet")
        p.add_argument("--reference", default=str(REFERENCE), help="reference CSV directory")
        p.add_argument("--now-us", type=int, help="ingest instant, µs since the epoch [default: now]")
        p.add_argument("--current-month", help="YYYY-MM; later periods are rejected [default: now in Vietnam]")
        p.add_argument("files", nargs="+")
        a = p.parse_args(argv[1:])
        now_us, month = now_in_vietnam()
        summary = duckdb_light_ingest([Path(f) for f in a.files], Path(a.out), Path(a.reference),
                                      a.now_us if a.now_us is not None else now_us, a.current_month or month)
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    if command == "duckdb-query":
        p = argparse.ArgumentParser(prog="compare.py duckdb-query",
                                    description="DuckDB side of the share query (run as a measured child process)")
        p.add_argument("--filings", required=True, help="filings.parquet written by duckdb-ingest")
        p.add_argument("--reference", default=str(REFERENCE), help="reference CSV directory")
        p.add_argument("--from", dest="first", required=True)
        p.add_argument("--to", dest="last", required=True)
        a = p.parse_args(argv[1:])
        print(json.dumps(duckdb_query(Path(a.filings), Path(a.reference), a.first, a.last)))
        return 0
    if command == "self-test":
        p = argparse.ArgumentParser(prog="compare.py self-test", description=self_test.__doc__)
        p.add_argument("--bin", default=str(DEFAULT_BIN), help="ecomshare binary, used when present")
        return self_test(p.parse_args(argv[1:]))
    if command is not None:
        print(f"unknown command {command!r}; see --help", file=sys.stderr)
        return 2

    p = argparse.ArgumentParser(
        prog="compare.py",
        description="ecomshare against DuckDB on the same generated filings (ingest and share query).",
        epilog="Other commands: `self-test [--bin PATH]` checks the DuckDB side on the fixtures.",
    )
    p.add_argument("--bin", default=str(DEFAULT_BIN), help=f"ecomshare release binary [default: {DEFAULT_BIN}]")
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000],
                   help="approximate record counts to generate [default: 1000000 10000000]")
    p.add_argument("--workdir", default="/tmp/ecomshare-bench", help="where files go [default: /tmp/ecomshare-bench]")
    p.add_argument("--repeat", type=int, default=3, help="measured runs per step [default: 3]")
    return run_benchmark(p.parse_args(argv))


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
