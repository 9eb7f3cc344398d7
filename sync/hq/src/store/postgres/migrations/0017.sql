-- 15: members' personal data encrypted at rest (issue 21; sync/hq/src/personal.rs).
-- Each member's phone, name and birthday are stored encrypted under a data
-- key of the member's own (base64 of nonce and XChaCha20-Poly1305
-- ciphertext), the data key wrapped under head office's key-encryption key
-- in member_keys with that key's version; erasure deletes both. The month
-- of the birthday stays plain for campaigns' birthday segment. The plain
-- columns phone, name and birthday are emptied and dropped at start-up by
-- head office itself, which alone holds the key to encrypt the rows written
-- before (PgStore::seal_plaintext_members), in batches.
ALTER TABLE members
    ADD COLUMN phone_ct TEXT,
    ADD COLUMN name_ct TEXT,
    ADD COLUMN birthday_ct TEXT,
    ADD COLUMN birthday_month SMALLINT;
CREATE TABLE member_keys (member_id TEXT PRIMARY KEY, kek_version BIGINT NOT NULL,
   wrapped_dek TEXT NOT NULL);
