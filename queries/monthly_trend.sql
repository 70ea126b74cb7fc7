-- name: monthly_trend
-- title.vi: Diễn biến tỷ trọng theo tháng
-- title.en: Monthly share trend
-- description.vi: Mỗi tháng từ `from` đến `to` có báo cáo có hiệu lực (của một huyện
--   và/hoặc một nhóm ngành nếu có chọn) một dòng: tổng mức bán lẻ và doanh
--   thu TMĐT có trọng số, tỷ trọng, mục tiêu của năm (của huyện nếu có chọn
--   huyện), chênh lệch và đánh giá.
--   Cột target_program: chương trình của mục tiêu (số hiệu văn bản).
-- description: One row per month from `from` to `to` that has effective
--   filings (of one district and/or one sector group when given): the
--   weighted total and e-commerce revenue, the share, the target in force in
--   that month's year (the district's when one is given), the gap and the
--   standing.
--   target_program: the programme the target is of (its document's number).
-- param: from month = latest-23 | Từ tháng (YYYY-MM) | First month (YYYY-MM)
-- param: to month = latest | Đến tháng (YYYY-MM) | Last month (YYYY-MM)
-- param: district district = all | Huyện (để trống: toàn tỉnh) | District (empty: the province)
-- param: sector sector = all | Nhóm ngành (để trống: tất cả) | Sector group (empty: all)
-- cells: by=period from=$from to=$to district=$district sector=$sector
WITH sums AS (
    SELECT
        period,
        CAST(year AS BIGINT) AS year,
        sum(weighted_total_vnd) AS total,
        sum(weighted_ecommerce_vnd) AS ecommerce,
        count(*) AS filings,
        count(DISTINCT unit_id) AS units
    FROM filings
    WHERE period BETWEEN $from AND $to
        AND ($district = '' OR district_code = $district)
        AND ($sector = '' OR sector_code = $sector)
    GROUP BY period, year
)
SELECT
    period,
    total AS total_revenue_vnd,
    ecommerce AS ecommerce_revenue_vnd,
    share_of(ecommerce, total) AS share,
    target_share(year, nullif($district, '')) AS target,
    gap_pp(ecommerce, total, year, nullif($district, '')) AS gap_pp,
    target_status(ecommerce, total, year, nullif($district, '')) AS status,
    filings,
    units,
    target_program(year, nullif($district, '')) AS target_program
FROM sums
ORDER BY period
