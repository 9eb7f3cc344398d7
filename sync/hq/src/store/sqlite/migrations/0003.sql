-- 3: operating a chain (issue 18). Stores (a store code every terminal
-- and enrollment code names; the stores already named become stores, in
-- China's time zone until someone says otherwise); staff, the stores each
-- works at and their PIN set-up (hashes only: the setup code's Argon2id
-- hash, the PIN's Argon2id hash; `name_key` is the display name trimmed
-- and lower-cased, unique within a store); the audit trail of every
-- back-office change; head-office users' roles (existing users were all
-- admins); enrollment codes that expire and record when they were used
-- (`redeemed_by` already names the terminal that used one).
CREATE TABLE stores (code TEXT PRIMARY KEY, name TEXT NOT NULL,
   time_zone TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
INSERT INTO stores (code, name, time_zone, created_at)
   SELECT store, store, 'Asia/Shanghai', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
   FROM (SELECT store FROM terminals UNION SELECT store FROM enroll_codes);
CREATE TABLE staff (staff_id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
   name_key TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
   pin_hash TEXT, setup_code_hash TEXT, setup_expires_at TEXT,
   setup_failures INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
CREATE TABLE staff_stores (staff_id TEXT NOT NULL REFERENCES staff (staff_id),
   store TEXT NOT NULL REFERENCES stores (code), PRIMARY KEY (staff_id, store));
CREATE INDEX staff_stores_store ON staff_stores (store);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
   actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
   detail TEXT NOT NULL DEFAULT '');
CREATE INDEX audit_subject ON audit (subject, id);
ALTER TABLE hq_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE enroll_codes ADD COLUMN expires_at TEXT;
ALTER TABLE enroll_codes ADD COLUMN used_at TEXT;
