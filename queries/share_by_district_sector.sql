-- name: share_by_district_sector
-- title.vi: Tỷ trọng thương mại điện tử theo huyện và nhóm ngành
-- title.en: E-commerce share by district and sector group
-- description.vi: Mỗi cặp huyện và nhóm ngành bán lẻ trong danh mục: tổng mức bán lẻ và
--   doanh thu TMĐT có trọng số của các báo cáo có hiệu lực từ `from` đến
--   `to`, tỷ trọng, mục tiêu của huyện trong năm của tháng `to`, chênh lệch
--   và đánh giá. Cặp không có báo cáo được liệt kê với doanh thu bằng 0 và
--   đánh giá không có số liệu.
--   Cột target_program: chương trình của mục tiêu (số hiệu văn bản).
-- description: Every pair of a district and a retail sector group of the
--   reference, with the weighted total and e-commerce revenue of the
--   effective filings from `from` to `to`, the share, the district's target
--   in force in the year of `to`, the gap and the standing. Pairs without
--   filings are listed with zero revenue and status no_data.
--   target_program: the programme the target is of (its document's number).
-- param: from month = year_start(to) | Từ tháng (YYYY-MM) | First month (YYYY-MM)
-- param: to month = latest | Đến tháng (YYYY-MM) | Last month (YYYY-MM)
-- cells: by=district,sector from=$from to=$to
WITH sums AS (
    SELECT
        district_code,
        sector_code,
        sum(weighted_total_vnd) AS total,
        sum(weighted_ecommerce_vnd) AS ecommerce,
        count(*) AS filings,
        count(DISTINCT unit_id) AS units
    FROM filings
    WHERE period BETWEEN $from AND $to
    GROUP BY district_code, sector_code
),
y AS (SELECT CAST(substr($to, 1, 4) AS BIGINT) AS year)
SELECT
    d.district_code,
    d.district_name,
    g.sector_code,
    g.sector_name,
    coalesce(s.total, 0) AS total_revenue_vnd,
    coalesce(s.ecommerce, 0) AS ecommerce_revenue_vnd,
    share_of(s.ecommerce, s.total) AS share,
    target_share(y.year, d.district_code) AS target,
    gap_pp(s.ecommerce, s.total, y.year, d.district_code) AS gap_pp,
    target_status(s.ecommerce, s.total, y.year, d.district_code) AS status,
    coalesce(s.filings, 0) AS filings,
    coalesce(s.units, 0) AS units,
    target_program(y.year, d.district_code) AS target_program
FROM districts d
CROSS JOIN sectors g
CROSS JOIN y
LEFT JOIN sums s ON s.district_code = d.district_code AND s.sector_code = g.sector_code
-- The districts whose area existed in the range (Đông Sơn until 2024-12).
WHERE d.area_valid_to IS NULL OR d.area_valid_to >= $from
ORDER BY d.district_code, g.sector_code
