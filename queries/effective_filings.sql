-- name: effective_filings
-- title.vi: Báo cáo có hiệu lực
-- title.en: Effective filings
-- description: For each key (unit_id, district_code, vsic_code, period) the one
--   accepted filing in force: the latest submitted_at (compared as instants),
--   ties to the later batch, then to the later file and record of that batch.
--   Superseded filings stay in storage and are not counted.
SELECT
    unit_id,
    district_code,
    vsic_code,
    period,
    year,
    month,
    total_revenue_vnd,
    ecommerce_revenue_vnd,
    weight_micro
FROM (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY unit_id, district_code, vsic_code, period
            ORDER BY submitted_at_us DESC, batch_seq DESC, file_index DESC, record DESC
        ) AS precedence
    FROM filings
) ranked
WHERE precedence = 1
