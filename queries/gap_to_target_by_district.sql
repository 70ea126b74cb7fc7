-- name: gap_to_target_by_district
-- title.vi: Khoảng cách tới mục tiêu theo huyện
-- title.en: Gap to target by district
-- description.vi: Với từng huyện và toàn tỉnh (dòng cuối), các tháng của năm `year` đến
--   tháng `through`: tổng mức bán lẻ và doanh thu TMĐT có trọng số, tỷ
--   trọng, mục tiêu của năm, chênh lệch (điểm %) và doanh thu TMĐT còn thiếu
--   để tỷ trọng đạt mục tiêu với tổng mức bán lẻ hiện tại (max(0, mục tiêu ×
--   tổng mức − doanh thu TMĐT), chính xác, tính bằng đồng). Toàn tỉnh ở dòng
--   cuối.
--   Cột target_program: chương trình của mục tiêu (số hiệu văn bản).
-- description: For every district and for the province (last row), over the
--   months of `year` up to `through`: the weighted total and e-commerce
--   revenue, the share, the target in force that year, the gap in
--   percentage points, and the e-commerce revenue still needed for the share
--   to reach the target at the current total
--   (max(0, target × total − e-commerce), exact, in đồng). Sorted with the
--   province last.
--   target_program: the programme the target is of (its document's number).
-- param: through month = latest | Đến hết tháng (YYYY-MM) | Through month (YYYY-MM)
-- cells: by=district from=year_start($through) to=$through
WITH bounds AS (
    SELECT concat(substr($through, 1, 4), '-01') AS from_month, CAST(substr($through, 1, 4) AS BIGINT) AS year
),
sums AS (
    SELECT
        f.district_code,
        grouping(f.district_code) AS is_total,
        sum(f.weighted_total_vnd) AS total,
        sum(f.weighted_ecommerce_vnd) AS ecommerce
    FROM filings f
    CROSS JOIN bounds b
    WHERE f.period BETWEEN b.from_month AND $through
    GROUP BY GROUPING SETS ((f.district_code), ())
),
labels AS (
    -- The districts whose area existed in the range (Đông Sơn until 2024-12).
    SELECT d.district_code, d.district_name, 0 AS is_total FROM districts d CROSS JOIN bounds b
    WHERE d.area_valid_to IS NULL OR d.area_valid_to >= b.from_month
    UNION ALL
    SELECT CAST(NULL AS VARCHAR), 'Toàn tỉnh', 1
)
SELECT
    l.district_code,
    l.district_name,
    b.from_month AS from_month,
    coalesce(s.total, 0) AS total_revenue_vnd,
    coalesce(s.ecommerce, 0) AS ecommerce_revenue_vnd,
    share_of(s.ecommerce, s.total) AS share,
    target_share(b.year, l.district_code) AS target,
    gap_pp(s.ecommerce, s.total, b.year, l.district_code) AS gap_pp,
    ecommerce_needed(s.ecommerce, s.total, b.year, l.district_code) AS ecommerce_needed_vnd,
    target_status(s.ecommerce, s.total, b.year, l.district_code) AS status,
    target_program(b.year, l.district_code) AS target_program
FROM labels l
CROSS JOIN bounds b
LEFT JOIN sums s ON s.is_total = l.is_total AND (l.is_total = 1 OR s.district_code = l.district_code)
ORDER BY l.is_total, l.district_code
