-- name: superseded_by_batch
-- title.vi: Báo cáo bị thay thế bởi đợt nhập mới
-- title.en: Filings a new batch supersedes
-- description: Run at commit, over the previous dataset version (`filings`,
--   `superseded`) and the batch being committed (`staged`). For each key
--   (unit_id, district_code, vsic_code, period) the batch touches, the
--   candidates are the filing in force so far and the batch's own filings;
--   the one with the latest submitted_at (compared as instants) wins, ties to
--   the later batch, then the later file and record, which is the order of
--   row_id. Every other candidate is returned: it is superseded from now on.
WITH current_filings AS (
    SELECT f.unit_id, f.district_code, f.vsic_code, f.period, f.submitted_at_us, f.row_id
    FROM filings f
    LEFT ANTI JOIN superseded s ON f.row_id = s.row_id
),
candidates AS (
    SELECT c.unit_id, c.district_code, c.vsic_code, c.period, c.submitted_at_us, c.row_id
    FROM current_filings c
    LEFT SEMI JOIN staged n
        ON c.unit_id = n.unit_id
        AND c.district_code = n.district_code
        AND c.vsic_code = n.vsic_code
        AND c.period = n.period
    UNION ALL
    SELECT unit_id, district_code, vsic_code, period, submitted_at_us, row_id
    FROM staged
),
contested AS (
    SELECT unit_id, district_code, vsic_code, period
    FROM candidates
    GROUP BY unit_id, district_code, vsic_code, period
    HAVING count(*) > 1
),
ranked AS (
    SELECT
        c.row_id,
        ROW_NUMBER() OVER (
            PARTITION BY c.unit_id, c.district_code, c.vsic_code, c.period
            ORDER BY c.submitted_at_us DESC, c.row_id DESC
        ) AS precedence
    FROM candidates c
    LEFT SEMI JOIN contested k
        ON c.unit_id = k.unit_id
        AND c.district_code = k.district_code
        AND c.vsic_code = k.vsic_code
        AND c.period = k.period
)
SELECT row_id FROM ranked WHERE precedence > 1 ORDER BY row_id
