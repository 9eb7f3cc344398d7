-- 15: each terminal's audit chain (issue 21): the head head office
-- acknowledged last (row number and its HMAC link, base64), which the
-- terminal's next batch must still link to, and the first break the
-- terminal's own check reported last (a break is flagged once). Null until
-- a terminal that sends its chain uploads.
ALTER TABLE terminals
    ADD COLUMN audit_head_n BIGINT,
    ADD COLUMN audit_head_mac TEXT,
    ADD COLUMN audit_broken_at BIGINT;
