#!/usr/bin/env python3
"""Expected answers of the named queries on the fixture dataset, computed
without the SQL in queries/: plain Python over the CSV files, exact
fractions. Writes tests/sql/*.slt (run from the project root):

    python3 tests/sql/oracle.py

The .slt files are the test's source of truth; this script is how they
were made, kept so a reviewer can re-derive them. The queries that declare
their cells or their release breakdown end with each row's release and response rate, judged at NOW
(the test's clock) under the default [release] policy. Rendering matches
tests/it/sql_fixtures.rs: columns joined by '|', NULL for null, numbers
(floats) with 9 decimals, exact decimals as the shortest exact text.
"""
import csv
import datetime as dt
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "fixtures/sample_filings.csv",
    ROOT / "fixtures/queries/v2_revisions.csv",
    ROOT / "fixtures/queries/v3_revisions.csv",
]
REF = ROOT / "fixtures/reference"

districts = list(csv.DictReader(open(REF / "districts.csv", encoding="utf-8")))


def districts_from(first_month):
    """The districts whose area existed from `first_month` on: its own
    valid_to, if any, not before it (Đông Sơn ends 2024-12)."""
    return [d for d in districts if not d["valid_to"] or d["valid_to"] >= first_month]
sectors = list(csv.DictReader(open(REF / "sector_groups.csv", encoding="utf-8")))
vsic_group = {r["vsic_code"]: r["group_code"] for r in csv.DictReader(open(REF / "vsic_codes.csv", encoding="utf-8"))}
TARGET_ROWS = list(csv.DictReader(open(REF / "targets.csv", encoding="utf-8")))
PROGRAMS = list(dict.fromkeys(r["program"] for r in TARGET_ROWS))  # oldest first


def program_value(program, scope, year):
    """The programme's e-commerce share target (low) for `year` from the
    rows of `scope`: its point row of that year; else on the straight line
    from the year before the horizon's path began (baseline) to the horizon,
    the horizon's value after it."""
    rows = [r for r in TARGET_ROWS if r["program"] == program and r["scope"] == scope and r["indicator"] == "ecommerce_share"]
    for r in rows:
        if r["kind"] == "point" and int(r["year"]) == year:
            return Fraction(r["low"])
    base = [r for r in rows if r["kind"] == "baseline"]
    horizons = sorted((r for r in rows if r["kind"] == "horizon"), key=lambda r: int(r["year"]))
    if not horizons:
        return None
    knots = [(int(r["year"]), Fraction(r["low"])) for r in base + horizons]
    if year >= knots[-1][0]:
        return knots[-1][1]
    for (y0, v0), (y1, v1) in zip(knots, knots[1:]):
        if y0 < year <= y1:
            return v0 + (v1 - v0) * Fraction(year - y0, y1 - y0)
    return None


def target_for(year, district):
    """(low, programme) governing `year`: the district's own rows first,
    then the province's; the provincial programme (-UBND), else the newest
    national one (later in the file)."""
    for scope in ([district] if district else []) + ["province"]:
        found = [(p, program_value(p, scope, year)) for p in PROGRAMS]
        found = [(p, v) for p, v in found if v is not None]
        provincial = [(p, v) for p, v in found if p.endswith("-UBND")]
        national = [(p, v) for p, v in found if not p.endswith("-UBND")]
        pick = (provincial or national or [None])[-1]
        if pick:
            return (pick[1], pick[0])
    return None


def low(target):
    return None if target is None else target[0]


def program(target):
    return "NULL" if target is None else target[1]


# The test's clock (tests/it/sql_fixtures.rs) and the default [release] policy.
NOW = dt.datetime.fromisoformat("2025-04-15T12:00:00+07:00")
DEADLINE_DAY, FINAL_AFTER_MONTHS = 20, 3
VIETNAM = dt.timezone(dt.timedelta(hours=7))


def add_months(p, n):
    y, m = int(p[:4]), int(p[5:])
    i = y * 12 + m - 1 + n
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def release(p):
    """estimate until the end of day DEADLINE_DAY of the month after `p`
    (Vietnam), preliminary until FINAL_AFTER_MONTHS months after its end,
    then final."""
    nxt = add_months(p, 1)
    deadline = dt.datetime(int(nxt[:4]), int(nxt[5:]), DEADLINE_DAY, tzinfo=VIETNAM) + dt.timedelta(days=1)
    fin = add_months(p, 1 + FINAL_AFTER_MONTHS)
    final = dt.datetime(int(fin[:4]), int(fin[5:]), 1, tzinfo=VIETNAM)
    if NOW >= final:
        return "final"
    return "preliminary" if NOW >= deadline else "estimate"


def months_between(frm, to):
    out, p = [], frm
    while p <= to:
        out.append(p)
        p = add_months(p, 1)
    return out


def response(eff, scope, months):
    """Σ over `months` of the units that filed for the month among those
    that filed in any of the three months before, over Σ of the latter,
    within `scope` (a predicate on filings); NULL with none expected."""
    def units(p):
        return {f["unit_id"] for f in eff if f["period"] == p and scope(f)}
    responding = expected = 0
    for p in months:
        before = units(add_months(p, -1)) | units(add_months(p, -2)) | units(add_months(p, -3))
        expected += len(before)
        responding += len(units(p) & before)
    return fl(None if expected == 0 else responding / expected)


def release_cols(eff, scope, frm, to, present=True):
    """A row's release (its last month's) and response rate over `frm..to`;
    a row the share answer lacks (`present` false) has no response rate."""
    return [release(to), response(eff, scope, months_between(frm, to)) if present else "NULL"]


def parse_ts(s):
    return dt.datetime.fromisoformat(s).astimezone(dt.timezone.utc)


filings = []  # every accepted filing, with the version that brought it
for version, path in enumerate(FILES, start=1):
    for record, r in enumerate(csv.DictReader(open(path, encoding="utf-8")), start=1):
        w = Fraction(r["weight"]) if r["weight"] else Fraction(1)
        filings.append(
            {
                "version": version,
                "record": record,
                "unit_id": r["unit_id"],
                "unit_name": r["unit_name"],
                "district": r["district_code"],
                "vsic": r["sector_code"],
                "sector": vsic_group[r["sector_code"]],
                "period": r["period"],
                "total": int(r["total_revenue_vnd"]),
                "ecom": int(r["ecommerce_revenue_vnd"]),
                "weight": w,
                "wt": int(r["total_revenue_vnd"]) * w,
                "we": int(r["ecommerce_revenue_vnd"]) * w,
                "submitted": parse_ts(r["submitted_at"]),
            }
        )


def key(f):
    return (f["unit_id"], f["district"], f["vsic"], f["period"])


def effective(version):
    best = {}
    for f in filings:
        if f["version"] > version:
            continue
        k = key(f)
        rank = (f["submitted"], f["version"], f["record"])
        if k not in best or rank > best[k][0]:
            best[k] = (rank, f)
    return [f for _, f in best.values()]


def dec(x):
    """Exact shortest decimal text of a Fraction with at most 6 decimals."""
    micro = x * 10**6
    assert micro.denominator == 1, x
    micro = micro.numerator
    sign = "-" if micro < 0 else ""
    micro = abs(micro)
    i, f = divmod(micro, 10**6)
    return f"{sign}{i}" if f == 0 else f"{sign}{i}." + f"{f:06d}".rstrip("0")


def fl(x):
    return "NULL" if x is None else f"{x:.9f}"


def share(e, t):
    if t == 0:
        return None
    return float((e * 10**6).numerator) / float((t * 10**6).numerator)


def status(e, t, target):
    if t == 0:
        return "no_data"
    if target is None:
        return "no_target"
    return "met" if e >= t * target else "below"


def gap(e, t, target):
    s = share(e, t)
    return None if s is None or target is None else (s - float(target)) * 100


def needed(e, t, target):
    if target is None:
        return None
    micro_t = (t * 10**6).numerator
    micro_need = -((-micro_t * target.numerator) // target.denominator)  # ceil
    return max(Fraction(0), Fraction(micro_need, 10**6) - e)


def sums(rows):
    return (
        sum((f["wt"] for f in rows), Fraction(0)),
        sum((f["we"] for f in rows), Fraction(0)),
        len(rows),
        len({f["unit_id"] for f in rows}),
    )


def figure_cols(rows, governing):
    """The figure columns and, last, the target's programme."""
    t, e, n, u = sums(rows)
    target = low(governing)
    return [
        dec(t), dec(e), fl(share(e, t)), fl(None if target is None else float(target)), fl(gap(e, t, target)),
        status(e, t, target), str(n), str(u), program(governing),
    ]


def share_by_district(eff, frm, to, sector=""):
    rows = [f for f in eff if frm <= f["period"] <= to and (not sector or f["sector"] == sector)]
    year = int(to[:4])
    in_sector = lambda f: not sector or f["sector"] == sector
    out = []
    for d in districts_from(frm):
        c = d["district_code"]
        out.append(
            [c, d["district_name"]]
            + figure_cols([f for f in rows if f["district"] == c], target_for(year, c))
            + release_cols(eff, lambda f, c=c: in_sector(f) and f["district"] == c, frm, to)
        )
    out.append(["NULL", "Toàn tỉnh"] + figure_cols(rows, target_for(year, None)) + release_cols(eff, in_sector, frm, to))
    return out


def share_by_sector(eff, frm, to, district=""):
    rows = [f for f in eff if frm <= f["period"] <= to and (not district or f["district"] == district)]
    target = target_for(int(to[:4]), district or None)
    in_district = lambda f: not district or f["district"] == district
    out = []
    for s in sorted(sectors, key=lambda s: s["group_code"]):
        c = s["group_code"]
        sel = [f for f in rows if f["sector"] == c]
        # The share answer by sector has the sectors with filings only.
        scope = lambda f, c=c: in_district(f) and f["sector"] == c
        out.append([c, s["group_name"]] + figure_cols(sel, target) + release_cols(eff, scope, frm, to, bool(sel)))
    out.append(["NULL", "Tất cả các ngành"] + figure_cols(rows, target) + release_cols(eff, in_district, frm, to))
    return out


def share_by_district_sector(eff, frm, to):
    rows = [f for f in eff if frm <= f["period"] <= to]
    year = int(to[:4])
    out = []
    for d in districts_from(frm):
        for s in sorted(sectors, key=lambda s: s["group_code"]):
            sel = [f for f in rows if f["district"] == d["district_code"] and f["sector"] == s["group_code"]]
            # The share answer by district and sector has every district of
            # each sector with filings in some district, no other sector.
            present = any(f["sector"] == s["group_code"] for f in rows)
            scope = lambda f, c=d["district_code"], g=s["group_code"]: f["district"] == c and f["sector"] == g
            out.append(
                [d["district_code"], d["district_name"], s["group_code"], s["group_name"]]
                + figure_cols(sel, target_for(year, d["district_code"]))
                + release_cols(eff, scope, frm, to, present)
            )
    return out


def monthly_trend(eff, frm, to, district="", sector=""):
    rows = [
        f
        for f in eff
        if frm <= f["period"] <= to and (not district or f["district"] == district) and (not sector or f["sector"] == sector)
    ]
    scope = lambda f: (not district or f["district"] == district) and (not sector or f["sector"] == sector)
    out = []
    for p in sorted({f["period"] for f in rows}):
        out.append(
            [p]
            + figure_cols([f for f in rows if f["period"] == p], target_for(int(p[:4]), district or None))
            + release_cols(eff, scope, p, p)
        )
    return out


def prev_year(p):
    return f"{int(p[:4]) - 1}{p[4:]}"


def yoy_by_district(eff, frm, to):
    pf, pt = prev_year(frm), prev_year(to)
    now = [f for f in eff if frm <= f["period"] <= to]
    before = [f for f in eff if pf <= f["period"] <= pt]
    out = []

    def cols(a, b):
        t1, e1, _, _ = sums(a)
        t0, e0, _, _ = sums(b)
        s1, s0 = share(e1, t1), share(e0, t0)
        ch = None if s1 is None or s0 is None else (s1 - s0) * 100
        return [pf, pt, dec(t1), fl(s1), dec(t0), fl(s0), fl(ch)]

    for d in districts_from(frm):
        c = d["district_code"]
        out.append(
            [c, d["district_name"]]
            + cols([f for f in now if f["district"] == c], [f for f in before if f["district"] == c])
            + release_cols(eff, lambda f, c=c: f["district"] == c, frm, to)
        )
    out.append(["NULL", "Toàn tỉnh"] + cols(now, before) + release_cols(eff, lambda f: True, frm, to))
    return out


def gap_to_target_by_district(eff, through):
    frm = through[:4] + "-01"
    rows = [f for f in eff if frm <= f["period"] <= through]
    year = int(through[:4])
    out = []

    def cols(sel, governing):
        t, e, _, _ = sums(sel)
        target = low(governing)
        n = needed(e, t, target)
        return [
            frm, dec(t), dec(e), fl(share(e, t)), fl(None if target is None else float(target)), fl(gap(e, t, target)),
            "NULL" if n is None else dec(n), status(e, t, target), program(governing),
        ]

    for d in districts_from(frm):
        c = d["district_code"]
        out.append(
            [c, d["district_name"]]
            + cols([f for f in rows if f["district"] == c], target_for(year, c))
            + release_cols(eff, lambda f, c=c: f["district"] == c, frm, through)
        )
    out.append(["NULL", "Toàn tỉnh"] + cols(rows, target_for(year, None)) + release_cols(eff, lambda f: True, frm, through))
    return out


def prev_month(p):
    y, m = int(p[:4]), int(p[5:])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def coverage_by_district(eff, period):
    pm = prev_month(period)
    out = []

    def cols(sel):
        a = [f for f in sel if f["period"] == period]
        b = [f for f in sel if f["period"] == pm]
        fa, ua, fb, ub = len(a), len({f["unit_id"] for f in a}), len(b), len({f["unit_id"] for f in b})
        return [pm, str(fa), str(ua), str(fb), str(ub), str(fa - fb), str(ua - ub)]

    for d in districts_from(pm):
        c = d["district_code"]
        out.append(
            [c, d["district_name"]]
            + cols([f for f in eff if f["district"] == c])
            + release_cols(eff, lambda f, c=c: f["district"] == c, period, period)
        )
    out.append(["NULL", "Toàn tỉnh"] + cols(eff) + release_cols(eff, lambda f: True, period, period))
    return out


def ts(x):
    return x.strftime("%Y-%m-%dT%H:%M:%SZ")


def revisions(v_from, v_to, latest=3):
    """The revised filings, each with its month's release and the response
    rate the share API gives for that month at the latest version (`by=period`
    over its default range, the latest 12 months: none outside it)."""
    before = {key(f): f for f in effective(v_from)}
    after = {key(f): f for f in effective(v_to)}
    now = effective(latest)
    last = max(f["period"] for f in now)
    window = months_between(add_months(last, -11), last)
    out = []
    for k in sorted(after, key=lambda k: (k[3], k[1], k[0], k[2])):
        a, b = after[k], before.get(k)
        if b is None or a is b:
            continue
        if (a["total"], a["ecom"], a["weight"]) == (b["total"], b["ecom"], b["weight"]):
            continue
        out.append(
            [a["period"], a["district"], a["unit_id"], a["unit_name"], a["vsic"], a["sector"],
             str(b["total"]), str(a["total"]), str(b["ecom"]), str(a["ecom"]), dec(b["weight"]), dec(a["weight"]),
             dec(a["wt"] - b["wt"]), dec(a["we"] - b["we"]), str(b["version"]), str(a["version"]),
             ts(b["submitted"]), ts(a["submitted"])]
            + release_cols(now, lambda f: True, a["period"], a["period"], a["period"] in window)
        )
    return out


CASES = {
    "share_by_district": [
        ("to=2025-03", lambda: share_by_district(effective(3), "2025-01", "2025-03")),
        ("to=2025-03 as_of=1", lambda: share_by_district(effective(1), "2025-01", "2025-03")),
        ("from=2025-02 to=2025-03 sector=FOOD", lambda: share_by_district(effective(3), "2025-02", "2025-03", "FOOD")),
    ],
    "share_by_sector": [
        ("to=2025-03", lambda: share_by_sector(effective(3), "2025-01", "2025-03")),
        ("to=2025-03 district=380", lambda: share_by_sector(effective(3), "2025-01", "2025-03", "380")),
    ],
    "share_by_district_sector": [
        ("from=2025-03 to=2025-03", lambda: share_by_district_sector(effective(3), "2025-03", "2025-03")),
    ],
    "monthly_trend": [
        ("", lambda: monthly_trend(effective(3), "2023-04", "2025-03")),
        ("from=2024-01 to=2025-03 district=380", lambda: monthly_trend(effective(3), "2024-01", "2025-03", "380")),
        ("from=2025-01 to=2025-03 sector=VEHICLES as_of=2", lambda: monthly_trend(effective(2), "2025-01", "2025-03", "", "VEHICLES")),
    ],
    "yoy_by_district": [
        ("to=2025-03", lambda: yoy_by_district(effective(3), "2025-01", "2025-03")),
    ],
    "gap_to_target_by_district": [
        ("", lambda: gap_to_target_by_district(effective(3), "2025-03")),
        ("through=2024-03", lambda: gap_to_target_by_district(effective(3), "2024-03")),
    ],
    "coverage_by_district": [
        ("period=2025-02", lambda: coverage_by_district(effective(3), "2025-02")),
        ("period=2025-01", lambda: coverage_by_district(effective(3), "2025-01")),
    ],
    "revisions": [
        ("", lambda: revisions(2, 3)),
        ("from_version=1 to_version=3", lambda: revisions(1, 3)),
        ("from_version=1 to_version=2", lambda: revisions(1, 2)),
        ("from_version=0 to_version=1", lambda: revisions(0, 1)),
    ],
}

if __name__ == "__main__":
    for name, cases in CASES.items():
        parts = [f"# Expected answers of queries/{name}.sql on fixtures/queries (see its README).\n"]
        for params, fn in cases:
            parts.append(f"\nquery {name}{(' ' + params) if params else ''}\n----\n")
            for row in fn():
                parts.append("|".join(row) + "\n")
        (ROOT / "tests/sql" / f"{name}.slt").write_text("".join(parts), encoding="utf-8")
        print(f"wrote tests/sql/{name}.slt")
