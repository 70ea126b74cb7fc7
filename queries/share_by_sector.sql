-- name: share_by_sector
-- title.vi: Tỷ trọng thương mại điện tử theo nhóm ngành
-- title.en: E-commerce share by sector group
-- description.vi: Với từng nhóm ngành bán lẻ trong danh mục và tất cả các nhóm (dòng cuối,
--   mã ngành để trống): tổng mức bán lẻ và doanh thu TMĐT có trọng số của
--   các báo cáo có hiệu lực từ `from` đến `to` (của một huyện nếu có chọn
--   `district`), tỷ trọng, mục tiêu của năm của tháng `to` (của huyện nếu có
--   chọn, nếu không của tỉnh), chênh lệch (điểm %) và đánh giá.
--   Cột target_program: chương trình của mục tiêu (số hiệu văn bản).
-- description: For every retail sector group of the reference and for all
--   of them together (last row, sector_code empty): the weighted total and
--   e-commerce revenue of the effective filings from `from` to `to` (of one
--   district when `district` is given), the share, the target in force in
--   the year of `to` (the district's when one is given, else the
--   province's), the gap in percentage points and the standing.
--   target_program: the programme the target is of (its document's number).
-- param: from month = year_start(to) | Từ tháng (YYYY-MM) | First month (YYYY-MM)
-- param: to month = latest | Đến tháng (YYYY-MM) | Last month (YYYY-MM)
-- param: district district = all | Huyện (để trống: toàn tỉnh) | District (empty: the province)
-- cells: by=sector from=$from to=$to district=$district
WITH sums AS (
    SELECT
        sector_code,
        grouping(sector_code) AS is_total,
        sum(weighted_total_vnd) AS total,
        sum(weighted_ecommerce_vnd) AS ecommerce,
        count(*) AS filings,
        count(DISTINCT unit_id) AS units
    FROM filings
    WHERE period BETWEEN $from AND $to AND ($district = '' OR district_code = $district)
    GROUP BY GROUPING SETS ((sector_code), ())
),
labels AS (
    SELECT sector_code, sector_name, 0 AS is_total FROM sectors
    UNION ALL
    SELECT CAST(NULL AS VARCHAR), 'Tất cả các ngành', 1
),
scope AS (
    SELECT CAST(substr($to, 1, 4) AS BIGINT) AS year, nullif($district, '') AS district_code
)
SELECT
    l.sector_code,
    l.sector_name,
    coalesce(s.total, 0) AS total_revenue_vnd,
    coalesce(s.ecommerce, 0) AS ecommerce_revenue_vnd,
    share_of(s.ecommerce, s.total) AS share,
    target_share(c.year, c.district_code) AS target,
    gap_pp(s.ecommerce, s.total, c.year, c.district_code) AS gap_pp,
    target_status(s.ecommerce, s.total, c.year, c.district_code) AS status,
    coalesce(s.filings, 0) AS filings,
    coalesce(s.units, 0) AS units,
    target_program(c.year, c.district_code) AS target_program
FROM labels l
CROSS JOIN scope c
LEFT JOIN sums s ON s.is_total = l.is_total AND (l.is_total = 1 OR s.sector_code = l.sector_code)
ORDER BY l.is_total, l.sector_code
