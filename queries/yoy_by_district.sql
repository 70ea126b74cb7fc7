-- name: yoy_by_district
-- title.vi: Tỷ trọng so với cùng kỳ năm trước, theo huyện
-- title.en: Year-over-year change of the share, by district
-- description.vi: Với từng huyện và toàn tỉnh (dòng cuối): tỷ trọng các tháng từ `from`
--   đến `to`, tỷ trọng cùng các tháng năm trước và mức thay đổi (điểm %),
--   kèm tổng mức có trọng số của cả hai kỳ. Tỷ trọng để trống khi kỳ đó
--   không có doanh thu.
-- description: For every district and for the province (last row): the
--   share of the months from `from` to `to`, the share of the same months a
--   year earlier, and the change in percentage points, with both periods'
--   weighted totals. A share is null where its period has no revenue.
-- param: from month = year_start(to) | Từ tháng (YYYY-MM) | First month (YYYY-MM)
-- param: to month = latest | Đến tháng (YYYY-MM) | Last month (YYYY-MM)
-- release: by=district from=$from to=$to
WITH bounds AS (
    SELECT
        concat(CAST(CAST(substr($from, 1, 4) AS INT) - 1 AS VARCHAR), substr($from, 5, 3)) AS prev_from,
        concat(CAST(CAST(substr($to, 1, 4) AS INT) - 1 AS VARCHAR), substr($to, 5, 3)) AS prev_to
),
marked AS (
    SELECT f.district_code, f.weighted_total_vnd, f.weighted_ecommerce_vnd, f.period BETWEEN $from AND $to AS is_now
    FROM filings f
    CROSS JOIN bounds b
    WHERE f.period BETWEEN $from AND $to OR f.period BETWEEN b.prev_from AND b.prev_to
),
sums AS (
    SELECT
        district_code,
        grouping(district_code) AS is_total,
        sum(CASE WHEN is_now THEN weighted_total_vnd END) AS total_now,
        sum(CASE WHEN is_now THEN weighted_ecommerce_vnd END) AS ecommerce_now,
        sum(CASE WHEN NOT is_now THEN weighted_total_vnd END) AS total_before,
        sum(CASE WHEN NOT is_now THEN weighted_ecommerce_vnd END) AS ecommerce_before
    FROM marked
    GROUP BY GROUPING SETS ((district_code), ())
),
labels AS (
    -- The districts whose area existed in the range (Đông Sơn until 2024-12).
    SELECT district_code, district_name, 0 AS is_total FROM districts
    WHERE area_valid_to IS NULL OR area_valid_to >= $from
    UNION ALL
    SELECT CAST(NULL AS VARCHAR), 'Toàn tỉnh', 1
)
SELECT
    l.district_code,
    l.district_name,
    b.prev_from AS previous_from,
    b.prev_to AS previous_to,
    coalesce(s.total_now, 0) AS total_revenue_vnd,
    share_of(s.ecommerce_now, s.total_now) AS share,
    coalesce(s.total_before, 0) AS previous_total_revenue_vnd,
    share_of(s.ecommerce_before, s.total_before) AS previous_share,
    (share_of(s.ecommerce_now, s.total_now) - share_of(s.ecommerce_before, s.total_before)) * 100 AS change_pp
FROM labels l
CROSS JOIN bounds b
LEFT JOIN sums s ON s.is_total = l.is_total AND (l.is_total = 1 OR s.district_code = l.district_code)
ORDER BY l.is_total, l.district_code
