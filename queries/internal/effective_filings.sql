-- name: effective_filings
-- title.vi: Báo cáo có hiệu lực
-- title.en: Effective filings
-- description: The accepted filings in force: every stored filing except those
--   a later commit superseded. Which filing of a key (unit_id, district_code,
--   commune_code, vsic_code, period) is in force is decided once, when a batch commits
--   (queries/superseded_by_batch.sql), so reading it costs one anti-join on an
--   integer. Superseded filings stay in storage as history.
SELECT
    f.unit_id,
    f.district_code,
    coalesce(f.commune_code, '') AS commune_code,
    f.vsic_code,
    f.period,
    f.total_revenue_vnd,
    f.ecommerce_revenue_vnd,
    f.weight_micro
FROM filings f
LEFT ANTI JOIN superseded s ON f.row_id = s.row_id
