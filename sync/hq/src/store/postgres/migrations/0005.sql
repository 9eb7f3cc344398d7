ALTER TABLE members SET (fillfactor = 70);
     ALTER TABLE terminals SET (fillfactor = 50);