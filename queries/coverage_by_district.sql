-- name: coverage_by_district
-- title.vi: Mức độ bao phủ báo cáo theo huyện
-- title.en: Filing coverage by district
-- description.vi: Với từng huyện và toàn tỉnh (dòng cuối): số báo cáo có hiệu lực và số
--   đơn vị báo cáo của tháng `period`, của tháng trước và mức thay đổi.
--   Huyện có số báo cáo giảm có thể còn đơn vị chưa nộp.
-- description: For every district and for the province (last row): the
--   effective filings and distinct reporting units of month `period`, the
--   same for the month before, and the change. A district whose count drops
--   may have units that have not filed yet.
-- param: period month = latest | Tháng (YYYY-MM) | Month (YYYY-MM)
-- disclosure: counts
-- release: by=district from=$period to=$period
WITH bounds AS (
    SELECT CASE
        WHEN substr($period, 6, 2) = '01'
            THEN concat(CAST(CAST(substr($period, 1, 4) AS INT) - 1 AS VARCHAR), '-12')
        ELSE concat(substr($period, 1, 5), lpad(CAST(CAST(substr($period, 6, 2) AS INT) - 1 AS VARCHAR), 2, '0'))
    END AS previous
),
counts AS (
    SELECT
        f.district_code,
        grouping(f.district_code) AS is_total,
        count(CASE WHEN f.period = $period THEN 1 END) AS filings,
        count(DISTINCT CASE WHEN f.period = $period THEN f.unit_id END) AS units,
        count(CASE WHEN f.period = b.previous THEN 1 END) AS previous_filings,
        count(DISTINCT CASE WHEN f.period = b.previous THEN f.unit_id END) AS previous_units
    FROM filings f
    CROSS JOIN bounds b
    WHERE f.period = $period OR f.period = b.previous
    GROUP BY GROUPING SETS ((f.district_code), ())
),
labels AS (
    -- The districts whose area existed in either month (Đông Sơn until 2024-12).
    SELECT d.district_code, d.district_name, 0 AS is_total FROM districts d CROSS JOIN bounds b
    WHERE d.area_valid_to IS NULL OR d.area_valid_to >= b.previous
    UNION ALL
    SELECT CAST(NULL AS VARCHAR), 'Toàn tỉnh', 1
)
SELECT
    l.district_code,
    l.district_name,
    b.previous AS previous_period,
    coalesce(c.filings, 0) AS filings,
    coalesce(c.units, 0) AS units,
    coalesce(c.previous_filings, 0) AS previous_filings,
    coalesce(c.previous_units, 0) AS previous_units,
    coalesce(c.filings, 0) - coalesce(c.previous_filings, 0) AS filings_change,
    coalesce(c.units, 0) - coalesce(c.previous_units, 0) AS units_change
FROM labels l
CROSS JOIN bounds b
LEFT JOIN counts c ON c.is_total = l.is_total AND (l.is_total = 1 OR c.district_code = l.district_code)
ORDER BY l.is_total, l.district_code
