-- 18: each member's changes on the log, found fast (issue 23): a downlink
-- page leaves out a member changed again later in the log, where a later
-- page sends them once.
CREATE INDEX changes_member ON changes (member_id, position) WHERE kind = 'member';
