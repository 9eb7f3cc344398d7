CREATE TABLE stores (code TEXT PRIMARY KEY, name TEXT NOT NULL,
        time_zone TEXT NOT NULL, address TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
     INSERT INTO stores (code, name, time_zone, created_at)
        SELECT store, store, 'Asia/Shanghai',
           to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')
        FROM (SELECT store FROM terminals UNION SELECT store FROM enroll_codes) AS named;
     CREATE TABLE staff (staff_id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
        name_key TEXT NOT NULL, role TEXT NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE,
        pin_hash TEXT, setup_code_hash TEXT, setup_expires_at TEXT,
        setup_failures INT NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
     CREATE TABLE staff_stores (staff_id TEXT NOT NULL REFERENCES staff (staff_id),
        store TEXT NOT NULL REFERENCES stores (code), PRIMARY KEY (staff_id, store));
     CREATE INDEX staff_stores_store ON staff_stores (store);
     CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL,
        actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '');
     CREATE INDEX audit_subject ON audit (subject, id);
     ALTER TABLE hq_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
     ALTER TABLE enroll_codes ADD COLUMN expires_at TEXT, ADD COLUMN used_at TEXT;
