-- name: filing_history
-- title.vi: Lịch sử báo cáo
-- title.en: Filing history
-- description: Every accepted filing ever stored, in force or not, as
--   analysts see it (view `filing_history`): the breakdown keys, the amounts
--   as filed, the weight and the weighted amounts as exact decimals in đồng,
--   the dataset version that brought the filing (`version`) and the one that
--   superseded it (`superseded_in`, null while it is in force). The view
--   `filings` is this one restricted to the filings in force.
SELECT
    f.unit_id,
    f.unit_name,
    f.district_code,
    f.commune_code,
    v.sector_code,
    f.vsic_code,
    f.period,
    concat(substr(f.period, 1, 4), '-Q', CAST((CAST(substr(f.period, 6, 2) AS INT) + 2) / 3 AS VARCHAR)) AS quarter,
    CAST(substr(f.period, 1, 4) AS INT) AS year,
    f.total_revenue_vnd,
    f.ecommerce_revenue_vnd,
    micro_to_decimal(f.weight_micro) AS weight,
    CAST(f.total_revenue_vnd AS DECIMAL(16, 0)) * micro_to_decimal(f.weight_micro) AS weighted_total_vnd,
    CAST(f.ecommerce_revenue_vnd AS DECIMAL(16, 0)) * micro_to_decimal(f.weight_micro) AS weighted_ecommerce_vnd,
    arrow_cast(f.submitted_at_us, 'Timestamp(Microsecond, Some("UTC"))') AS submitted_at,
    f.batch_seq AS version,
    s.superseded_in,
    f.row_id
FROM filings f
LEFT JOIN superseded s ON f.row_id = s.row_id
LEFT JOIN ref_vsic v ON f.vsic_code = v.vsic_code
