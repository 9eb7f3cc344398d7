-- 21: the chain's product catalog (issue 24, `store::catalog`): one row per
-- item as JSON, its barcode's catalog key (UPC-A as its EAN-13) and whether
-- it is sold beside it. Every new or changed item is also an `item` change
-- in the change log for every terminal.
CREATE TABLE catalog_items (sku TEXT PRIMARY KEY, code TEXT, active INTEGER NOT NULL,
   body TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX catalog_items_code ON catalog_items (code) WHERE code IS NOT NULL AND active;
