-- name: superseded_by_batch
-- title.vi: Báo cáo bị thay thế bởi đợt nhập mới
-- title.en: Filings a new batch supersedes
-- description: Run at commit, over the previous dataset version (`filings`,
--   `superseded`) and the batch being committed (`staged`). For each key
--   (unit_id, district_code, commune_code, vsic_code, period) the batch touches, the
--   candidates are the filing in force so far and the batch's own filings;
--   the one with the latest submitted_at (compared as instants) wins, ties to
--   the later batch, then the later file and record, which is the order of
--   row_id. Every other candidate is returned, with what the rollup
--   subtracts for it: it is superseded from now on.
--   Candidates are found by key_hash (an integer, cheap to join and group on
--   for millions of filings); the ranking itself partitions by the real key,
--   so a hash collision only adds a candidate that then wins its own key.
--   The semi joins name the small side first (`contested`, `staged`) so that
--   the hash table is built on it, not on every candidate.
--   Run once per part of the key space (`$part` of `$parts`, by key_hash):
--   a key's candidates all fall in one part, so the parts' answers together
--   are the whole answer, and each run holds only its part's hash tables.
WITH staged_part AS (
    SELECT *
    FROM staged
    WHERE ((key_hash % $parts) + $parts) % $parts = $part
),
current_filings AS (
    SELECT f.unit_id, f.district_code, coalesce(f.commune_code, '') AS commune_code, f.vsic_code, f.period,
        f.submitted_at_us, f.row_id, f.key_hash,
        f.total_revenue_vnd, f.ecommerce_revenue_vnd, f.weight_micro
    FROM filings f
    LEFT ANTI JOIN superseded s ON f.row_id = s.row_id
    WHERE ((f.key_hash % $parts) + $parts) % $parts = $part
),
candidates AS (
    SELECT c.unit_id, c.district_code, c.commune_code, c.vsic_code, c.period, c.submitted_at_us, c.row_id, c.key_hash,
        c.total_revenue_vnd, c.ecommerce_revenue_vnd, c.weight_micro
    FROM staged_part n
    RIGHT SEMI JOIN current_filings c ON c.key_hash = n.key_hash
    UNION ALL
    SELECT unit_id, district_code, coalesce(commune_code, '') AS commune_code, vsic_code, period,
        submitted_at_us, row_id, key_hash, total_revenue_vnd, ecommerce_revenue_vnd, weight_micro
    FROM staged_part
),
contested AS (
    SELECT key_hash
    FROM candidates
    GROUP BY key_hash
    HAVING count(*) > 1
),
ranked AS (
    SELECT
        c.row_id, c.unit_id, c.district_code, c.commune_code, c.vsic_code, c.period,
        c.total_revenue_vnd, c.ecommerce_revenue_vnd, c.weight_micro,
        ROW_NUMBER() OVER (
            PARTITION BY c.unit_id, c.district_code, c.commune_code, c.vsic_code, c.period
            ORDER BY c.submitted_at_us DESC, c.row_id DESC
        ) AS precedence
    FROM contested k
    RIGHT SEMI JOIN candidates c ON c.key_hash = k.key_hash
)
SELECT row_id, unit_id, district_code, commune_code, vsic_code, period, total_revenue_vnd, ecommerce_revenue_vnd,
    weight_micro
FROM ranked
WHERE precedence > 1
ORDER BY row_id
