/**
 * A MySQL/MariaDB dataset with the content that breaks naive backups: NULLs, 4-byte Unicode, a BLOB with all
 * 256 byte values, a row of 100 columns and a megabyte, AUTO_INCREMENT counters moved past the data, views,
 * a stored procedure and function, a trigger and an event. Statements run inside one database; a second
 * database ("several schemas") is created by the test.
 */
const wideColumns = Array.from({ length: 100 }, (_, i) => `c${i + 1} ${i === 0 ? 'LONGTEXT' : 'TEXT'}`).join(', ');
const wideValues = Array.from({ length: 100 }, (_, i) =>
  i === 0 ? "REPEAT('x', 1048576)" : i % 7 === 0 ? 'NULL' : `'v${i + 1}'`,
).join(', ');

export const MYSQL_DATASET: readonly string[] = [
  'CREATE TABLE customers (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) UNIQUE, note TEXT, created_at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
  "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new', amount DECIMAL(20,6), payload JSON, FOREIGN KEY (customer_id) REFERENCES customers(id)) ENGINE=InnoDB",
  "INSERT INTO customers (name, email, note) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 300) SELECT CONCAT('customer ', n), IF(n % 5 = 0, NULL, CONCAT('c', n, '@example.com')), IF(n % 3 = 0, NULL, CONCAT('note ', n)) FROM g",
  "INSERT INTO orders (customer_id, status, amount, payload) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000) SELECT 1 + n % 300, ELT(1 + n % 3, 'new', 'paid', 'shipped'), IF(n % 11 = 0, NULL, n * 1.123456), JSON_OBJECT('n', n, 'emoji', '😀') FROM g",
  'ALTER TABLE orders AUTO_INCREMENT = 5000',
  'CREATE TABLE blobs (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB',
  "INSERT INTO blobs VALUES (1, UNHEX(CONCAT('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', '202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F', '404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F', '606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F', '808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F', 'A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF', 'C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF', 'E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF'))), (2, ''), (3, NULL)",
  'CREATE TABLE texts (id INT PRIMARY KEY, t TEXT) DEFAULT CHARSET=utf8mb4',
  "INSERT INTO texts VALUES (1, 'héllo wörld'), (2, '😀🎉 emoji'), (3, 'مرحبا بالعالم'), (4, 'tab\\there\\nnewline\\\\backslash'), (5, 'NULL'), (6, '\\\\N'), (7, NULL), (8, ''), (9, 'quote '' and \" both')",
  `CREATE TABLE wide (id INT PRIMARY KEY, ${wideColumns}) ENGINE=InnoDB ROW_FORMAT=DYNAMIC`,
  `INSERT INTO wide VALUES (1, ${wideValues})`,
  "CREATE VIEW paid_orders AS SELECT o.id, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'paid'",
  'CREATE FUNCTION add_numbers(a INT, b INT) RETURNS INT DETERMINISTIC RETURN a + b',
  'CREATE PROCEDURE count_orders(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM orders; END',
  "CREATE TRIGGER customers_touch BEFORE UPDATE ON customers FOR EACH ROW SET NEW.note = CONCAT(COALESCE(NEW.note, ''), '*')",
  'CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM texts WHERE id < 0',
];
