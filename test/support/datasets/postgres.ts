/**
 * A PostgreSQL database with the content that breaks naive backups: several schemas (one needing quotes),
 * NULLs, Unicode (emoji, right-to-left, combining marks), COPY's own escape characters, bytea with all 256
 * byte values, a 200-column row holding a megabyte, enums, arrays, jsonb, identity columns, sequences moved
 * past their start, views, a materialized view, plpgsql and SQL functions, and a trigger.
 */
const wideColumns = Array.from({ length: 200 }, (_, i) => `c${i + 1} text`).join(', ');
const wideValues = Array.from({ length: 200 }, (_, i) =>
  i === 0 ? "repeat('x', 1048576)" : i % 7 === 0 ? 'NULL' : `'v${i + 1}'`,
).join(', ');

export const POSTGRES_DATASET: readonly string[] = [
  'CREATE SCHEMA sales',
  'CREATE SCHEMA "Odd Schema"',
  "CREATE TYPE sales.status AS ENUM ('new', 'paid', 'shipped')",
  'CREATE SEQUENCE sales.invoice_no START 1000 INCREMENT 7',
  'CREATE TABLE sales.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, email text UNIQUE, note text, created_at timestamptz DEFAULT now())',
  "CREATE TABLE sales.orders (id serial PRIMARY KEY, customer_id bigint REFERENCES sales.customers(id), status sales.status NOT NULL DEFAULT 'new', amount numeric(20,6), tags text[], payload jsonb, invoice bigint DEFAULT nextval('sales.invoice_no'))",
  "INSERT INTO sales.customers (name, email, note) SELECT 'customer ' || g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'c' || g || '@example.com' END, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 500) g",
  "INSERT INTO sales.orders (customer_id, status, amount, tags, payload) SELECT 1 + g % 500, (ARRAY['new','paid','shipped'])[1 + g % 3]::sales.status, CASE WHEN g % 11 = 0 THEN NULL ELSE g * 1.123456 END, ARRAY['a' || g, NULL, 'ü'], jsonb_build_object('g', g, 'nested', jsonb_build_object('emoji', '😀', 'null', NULL)) FROM generate_series(1, 2000) g",
  "SELECT setval('sales.invoice_no', 987654)",
  'CREATE TABLE public.blobs (id int PRIMARY KEY, data bytea)',
  "INSERT INTO public.blobs SELECT 1, decode(string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY b), 'hex') FROM generate_series(0, 255) b",
  "INSERT INTO public.blobs VALUES (2, ''::bytea), (3, NULL), (4, decode(repeat('00ff', 50000), 'hex'))",
  'CREATE TABLE "Odd Schema"."Mixed Case ""Table""" (id int PRIMARY KEY, "Weird ""Col""" text, "naïve" text)',
  `INSERT INTO "Odd Schema"."Mixed Case ""Table""" VALUES (1, 'quote " inside', 'naïve café'), (2, NULL, '')`,
  'CREATE TABLE public.texts (id int PRIMARY KEY, t text)',
  "INSERT INTO public.texts VALUES (1, 'héllo wörld'), (2, '😀🎉 emoji'), (3, 'مرحبا بالعالم'), (4, E'tab\\there\\nnewline\\\\backslash'), (5, 'NULL'), (6, E'\\\\N'), (7, NULL), (8, ''), (9, E'e\\u0301 combining'), (10, E'\\\\.'), (11, 'ends with backslash\\')",
  `CREATE TABLE public.wide (id int PRIMARY KEY, ${wideColumns})`,
  `INSERT INTO public.wide VALUES (1, ${wideValues})`,
  "CREATE VIEW sales.paid_orders AS SELECT o.id, c.name, o.amount FROM sales.orders o JOIN sales.customers c ON c.id = o.customer_id WHERE o.status = 'paid'",
  'CREATE MATERIALIZED VIEW sales.totals AS SELECT customer_id, sum(amount) AS total, count(*) AS n FROM sales.orders GROUP BY customer_id',
  "CREATE FUNCTION sales.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, '') || '*'; RETURN NEW; END $$",
  'CREATE TRIGGER customers_touch BEFORE UPDATE ON sales.customers FOR EACH ROW EXECUTE FUNCTION sales.touch()',
  "CREATE FUNCTION public.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b'",
  "COMMENT ON TABLE sales.orders IS 'orders, with a comment'",
];
