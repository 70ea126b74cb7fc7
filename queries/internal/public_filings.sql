-- name: public_filings
-- title.vi: Báo cáo có hiệu lực (cho phân tích)
-- title.en: Effective filings (for analysts)
-- description: The view `filings` of named queries and analysts' SQL: the
--   filings in force, with the columns of `filing_history` but
--   `superseded_in`.
SELECT * EXCLUDE (superseded_in)
FROM filing_history
WHERE superseded_in IS NULL
