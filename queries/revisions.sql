-- name: revisions
-- title.vi: Báo cáo được điều chỉnh giữa hai phiên bản dữ liệu
-- title.en: Filings revised between two dataset versions
-- description.vi: Mỗi khóa báo cáo (đơn vị, huyện, mã ngành VSIC, kỳ) mà báo cáo có hiệu
--   lực ở phiên bản `to_version` khác số liệu (tổng mức, doanh thu TMĐT hoặc
--   trọng số) so với báo cáo có hiệu lực ở phiên bản `from_version`: cả hai
--   bộ số liệu, mức thay đổi của các khoản có trọng số (đồng), phiên bản và
--   thời điểm nộp của hai báo cáo.
-- description: Every filing key (unit, district, VSIC code, period) whose
--   filing in force at `to_version` differs in its figures (total,
--   e-commerce revenue or weight) from the one in force at `from_version`:
--   both sets of figures, the change of the weighted amounts in đồng, and
--   the versions and submission times of both filings. A filing in force at
--   `to_version` but not at `from_version` came in a later version, and the
--   one it replaced was superseded in between, which is how both sides are
--   found without scanning the whole history.
-- param: to_version version = latest | Đến phiên bản | To dataset version
-- param: from_version version = latest-1 | Từ phiên bản | From dataset version
-- release: by=period
WITH after AS (
    SELECT *
    FROM filing_history
    WHERE version > $from_version AND version <= $to_version
        AND (superseded_in IS NULL OR superseded_in > $to_version)
),
before AS (
    SELECT *
    FROM filing_history
    WHERE superseded_in > $from_version AND superseded_in <= $to_version AND version <= $from_version
)
SELECT
    a.period,
    a.district_code,
    a.unit_id,
    a.unit_name,
    a.vsic_code,
    a.sector_code,
    b.total_revenue_vnd AS total_revenue_vnd_before,
    a.total_revenue_vnd AS total_revenue_vnd_after,
    b.ecommerce_revenue_vnd AS ecommerce_revenue_vnd_before,
    a.ecommerce_revenue_vnd AS ecommerce_revenue_vnd_after,
    b.weight AS weight_before,
    a.weight AS weight_after,
    a.weighted_total_vnd - b.weighted_total_vnd AS weighted_total_change_vnd,
    a.weighted_ecommerce_vnd - b.weighted_ecommerce_vnd AS weighted_ecommerce_change_vnd,
    b.version AS version_before,
    a.version AS version_after,
    b.submitted_at AS submitted_at_before,
    a.submitted_at AS submitted_at_after
FROM after a
JOIN before b
    ON a.unit_id = b.unit_id AND a.district_code = b.district_code AND a.vsic_code = b.vsic_code AND a.period = b.period
WHERE a.total_revenue_vnd <> b.total_revenue_vnd
    OR a.ecommerce_revenue_vnd <> b.ecommerce_revenue_vnd
    OR a.weight <> b.weight
ORDER BY a.period, a.district_code, a.unit_id, a.vsic_code
