-- name: share_by_district
-- title.vi: Tỷ trọng thương mại điện tử theo huyện
-- title.en: E-commerce share by district
-- description.vi: Với từng huyện trong danh mục và toàn tỉnh (dòng cuối, mã huyện để
--   trống): tổng mức bán lẻ và doanh thu TMĐT có trọng số của các báo cáo có
--   hiệu lực từ `from` đến `to` (của một nhóm ngành nếu có chọn `sector`),
--   tỷ trọng Σ doanh thu TMĐT / Σ tổng mức, mục tiêu của năm của tháng `to`,
--   chênh lệch (điểm %) và đánh giá (đạt, chưa đạt, chưa có mục tiêu, không
--   có số liệu). Số tiền chính xác, tính bằng đồng.
--   Cột target_program: chương trình của mục tiêu (số hiệu văn bản).
-- description: For every district of the reference and for the whole
--   province (last row, district_code empty): the weighted total and
--   e-commerce retail revenue of the effective filings from `from` to `to`
--   (of one sector group when `sector` is given), the share
--   Σ e-commerce / Σ total, the target in force in the year of `to`, the gap
--   in percentage points and the standing (met, below, no_target, no_data).
--   Amounts are exact, in đồng.
--   target_program: the programme the target is of (its document's number).
-- param: from month = year_start(to) | Từ tháng (YYYY-MM) | First month (YYYY-MM)
-- param: to month = latest | Đến tháng (YYYY-MM) | Last month (YYYY-MM)
-- param: sector sector = all | Nhóm ngành (để trống: tất cả) | Sector group (empty: all)
-- cells: by=district from=$from to=$to sector=$sector
WITH sums AS (
    SELECT
        district_code,
        grouping(district_code) AS is_total,
        sum(weighted_total_vnd) AS total,
        sum(weighted_ecommerce_vnd) AS ecommerce,
        count(*) AS filings,
        count(DISTINCT unit_id) AS units
    FROM filings
    WHERE period BETWEEN $from AND $to AND ($sector = '' OR sector_code = $sector)
    GROUP BY GROUPING SETS ((district_code), ())
),
labels AS (
    -- The districts whose area existed in the range (Đông Sơn until 2024-12).
    SELECT district_code, district_name, 0 AS is_total FROM districts
    WHERE area_valid_to IS NULL OR area_valid_to >= $from
    UNION ALL
    SELECT CAST(NULL AS VARCHAR), 'Toàn tỉnh', 1
),
y AS (SELECT CAST(substr($to, 1, 4) AS BIGINT) AS year)
SELECT
    l.district_code,
    l.district_name,
    coalesce(s.total, 0) AS total_revenue_vnd,
    coalesce(s.ecommerce, 0) AS ecommerce_revenue_vnd,
    share_of(s.ecommerce, s.total) AS share,
    target_share(y.year, l.district_code) AS target,
    gap_pp(s.ecommerce, s.total, y.year, l.district_code) AS gap_pp,
    target_status(s.ecommerce, s.total, y.year, l.district_code) AS status,
    coalesce(s.filings, 0) AS filings,
    coalesce(s.units, 0) AS units,
    target_program(y.year, l.district_code) AS target_program
FROM labels l
CROSS JOIN y
LEFT JOIN sums s ON s.is_total = l.is_total AND (l.is_total = 1 OR s.district_code = l.district_code)
ORDER BY l.is_total, l.district_code
