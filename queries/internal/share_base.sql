-- name: share_base
-- title.vi: Cơ sở tính tỷ trọng TMĐT
-- title.en: Base of the e-commerce share
-- description: Effective filings with every breakdown key (district — for
--   months from the 2025 reform the former district the filing's commune
--   lies in —, commune (empty before the reform), retail sector group, VSIC
--   code, month, quarter, year) and their weighted amounts
--   as exact decimals in micro-đồng (amount × weight × 10^6): at most
--   10^15 × 10^12 = 10^27 each, so sums stay exact in DECIMAL(38, 0).
--   A VSIC code missing from the reference keeps its filings, with a null group.
SELECT
    e.district_code,
    nullif(e.commune_code, '') AS commune_code,
    v.sector_code,
    e.vsic_code,
    e.period,
    concat(substr(e.period, 1, 4), '-Q', CAST((CAST(substr(e.period, 6, 2) AS INT) + 2) / 3 AS VARCHAR)) AS quarter,
    substr(e.period, 1, 4) AS year,
    e.unit_id,
    CAST(e.total_revenue_vnd AS DECIMAL(16, 0)) * CAST(e.weight_micro AS DECIMAL(13, 0)) AS weighted_total,
    CAST(e.ecommerce_revenue_vnd AS DECIMAL(16, 0)) * CAST(e.weight_micro AS DECIMAL(13, 0)) AS weighted_ecommerce
FROM effective_filings e
LEFT JOIN ref_vsic v ON e.vsic_code = v.vsic_code
