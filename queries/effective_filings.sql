-- name: effective_filings
-- title.vi: Báo cáo có hiệu lực
-- title.en: Effective filings
-- description: For each key (unit_id, district_code, vsic_code, period) the one
--   accepted filing in force: the latest submitted_at (compared as instants),
--   ties to the later batch, then to the later file and record of that batch.
--   Superseded filings stay in storage and are not counted.
--   The order is packed into one exact DECIMAL(38, 0):
--     submitted_at_us × 10^19 + batch_seq × 10^12 + file_index × 10^9 + record
--   which is monotonic while batch_seq < 10^7, file_index < 10^3 and
--   record < 10^9 (the ingest enforces these bounds), so a hash aggregate with
--   first_value picks the winner without sorting every filing.
SELECT
    unit_id,
    district_code,
    vsic_code,
    period,
    first_value(total_revenue_vnd ORDER BY precedence DESC) AS total_revenue_vnd,
    first_value(ecommerce_revenue_vnd ORDER BY precedence DESC) AS ecommerce_revenue_vnd,
    first_value(weight_micro ORDER BY precedence DESC) AS weight_micro
FROM (
    SELECT
        unit_id,
        district_code,
        vsic_code,
        period,
        total_revenue_vnd,
        ecommerce_revenue_vnd,
        weight_micro,
        CAST(submitted_at_us AS DECIMAL(38, 0)) * 10000000000000000000
            + CAST(batch_seq AS DECIMAL(38, 0)) * 1000000000000
            + CAST(file_index AS DECIMAL(38, 0)) * 1000000000
            + CAST(record AS DECIMAL(38, 0)) AS precedence
    FROM filings
) ranked
GROUP BY unit_id, district_code, vsic_code, period
