/**
 * A realistic, deterministic dataset for the benchmarks, generated inside the database server so a
 * gigabyte takes seconds to minutes, not an hour of client round trips.
 *
 * Shape (the same on both engines): `customers` (emails, names, a country, a plan, a balance, a UUID,
 * JSON attributes) and `events` (about 40 per customer: a timestamp that advances with the id plus jitter,
 * a kind, a nullable amount, a JSON payload with an IP, a session id, a path, items and flags, and a
 * message of 1-4 phrases, 20 to 400 characters), primary keys, two secondary indexes and a foreign key.
 * Text comes from 4096 phrases drawn from a vocabulary with a seeded PRNG; per-row choices come from a hash
 * of the row id (hashint8extended on PostgreSQL, CRC32 on MariaDB), so the same name always holds the same
 * rows. Session ids and UUIDs are MD5 hex: the incompressible share real tables have.
 *
 * A database is named for the generator version and its target dump size, and carries a `bench_meta` row
 * written last: present means complete, so reruns skip generation; absent means drop and start over.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DatabasePeer } from '#test/support/peers.ts';

export const GENERATOR_VERSION = 1;
const PHRASES = 4096;
const EVENTS_PER_CUSTOMER = 40;

const VOCABULARY = (
  'order payment shipped delivered refund invoice account login logout session checkout cart item product ' +
  'warehouse carrier tracking customer support ticket priority escalated resolved pending failed retry ' +
  'timeout gateway card declined approved subscription renewal trial upgrade downgrade plan monthly annual ' +
  'discount coupon applied expired address billing shipping updated created deleted verified email sms push ' +
  'notification sent opened clicked bounced the a an of to for with from by on in at after before during ' +
  'because while and or but not new old first last next previous mobile desktop tablet browser app api ' +
  'request response latency error warning info user admin guest merchant partner region europe america asia ' +
  'stock low restocked backorder returned damaged replaced exchanged review rating five stars one star ' +
  'comment reply thanks please sorry delay today tomorrow week minutes hours quickly slowly again manual ' +
  'automatic scheduled batch export import report dashboard settings password reset two factor enabled'
).split(' ');

const FIRST =
  'Ada Alan Grace Linus Margaret Ken Barbara Donald Edsger Frances John Radia Tim Whitfield Sophie Niklaus Leslie Guido Yukihiro Anders'.split(
    ' ',
  );
const LAST =
  'Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Knuth Dijkstra Allen Backus Perlman Berners-Lee Diffie Wilson Wirth Lamport Rossum Matsumoto Hejlsberg'.split(
    ' ',
  );
const COUNTRIES = 'US DE FR GB JP BR IN CA AU NL SE ES IT PL MX KR'.split(' ');
const PLANS = ['free', 'starter', 'team', 'business', 'enterprise'];
const KINDS = ['page_view', 'page_view', 'page_view', 'click', 'search', 'add_to_cart', 'purchase', 'support'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148',
  'okhttp/4.12.0',
  'safekeep-sample-client/1.0',
];

/** mulberry32: a tiny seeded PRNG, so the phrases are the same on every machine. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function phrases(): string[] {
  const random = prng(13);
  return Array.from({ length: PHRASES }, () => {
    const words = 3 + Math.floor(random() * 10);
    return Array.from({ length: words }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]).join(' ');
  });
}

const sqlArray = (values: readonly string[]) => `ARRAY[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')}]`;
const mysqlElt = (index: string, values: readonly string[]) =>
  `ELT(1 + ${index}, ${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')})`;

export const datasetName = (engine: 'postgres' | 'mysql', targetMb: number) =>
  `bench_v${GENERATOR_VERSION}_${engine === 'postgres' ? 'pg' : 'my'}_${targetMb}mb`;

export interface Dataset {
  readonly database: string;
  readonly targetMb: number;
  readonly customers: number;
  readonly events: number;
  readonly generatedS?: number;
}

// ------------------------------------------------------------------------------------------ PostgreSQL

const pgHash = (salt: number, g = 'g') => `(hashint8extended(${g}::int8, ${salt}) & 2147483647)`;

function pgCustomersSelect(from: number, to: number): string {
  return `SELECT g,
    lower(f.v) || '.' || lower(l.v) || g || '@' || (ARRAY['example.com','mail.test','corp.example','shop.test'])[1 + ${pgHash(1)} % 4],
    f.v || ' ' || l.v,
    (${sqlArray(COUNTRIES)})[1 + ${pgHash(2)} % ${COUNTRIES.length}],
    (${sqlArray(PLANS)})[1 + ${pgHash(3)} % ${PLANS.length}],
    (${pgHash(4)} % 10000000) / 100.0,
    md5('c' || g)::uuid,
    timestamptz '2022-01-01 00:00:00+00' + (${pgHash(5)} % 94608000) * interval '1 second',
    jsonb_build_object('newsletter', ${pgHash(6)} % 2 = 0, 'locale', (ARRAY['en-US','de-DE','fr-FR','ja-JP'])[1 + ${pgHash(7)} % 4],
      'tags', jsonb_build_array(p.phrase), 'score', ${pgHash(8)} % 1000)
  FROM generate_series(${from}, ${to}) g
  JOIN (SELECT ordinality - 1 AS i, v FROM unnest(${sqlArray(FIRST)}) WITH ORDINALITY AS t(v)) f ON f.i = ${pgHash(9)} % ${FIRST.length}
  JOIN (SELECT ordinality - 1 AS i, v FROM unnest(${sqlArray(LAST)}) WITH ORDINALITY AS t(v)) l ON l.i = ${pgHash(10)} % ${LAST.length}
  JOIN bench_phrases p ON p.id = ${pgHash(11)} % ${PHRASES}`;
}

function pgEventsSelect(from: number, to: number, customers: number, events: number): string {
  return `SELECT g,
    1 + ${pgHash(21)} % ${customers},
    timestamptz '2025-01-01 00:00:00+00' + (g * (31536000.0 / ${events}) + ${pgHash(22)} % 600) * interval '1 second',
    (${sqlArray(KINDS)})[1 + ${pgHash(23)} % ${KINDS.length}],
    CASE WHEN ${pgHash(24)} % 3 = 0 THEN NULL ELSE (${pgHash(25)} % 50000) / 100.0 END,
    jsonb_build_object(
      'ip', '10.' || ${pgHash(26)} % 256 || '.' || ${pgHash(27)} % 256 || '.' || ${pgHash(28)} % 256,
      'session', substr(md5('s' || (g / 7)), 1, 20),
      'ua', (${sqlArray(AGENTS)})[1 + ${pgHash(29)} % ${AGENTS.length}],
      'path', '/' || split_part(p1.phrase, ' ', 1) || '/' || ${pgHash(30)} % 5000,
      'items', CASE WHEN ${pgHash(31)} % 4 = 0 THEN jsonb_build_array(${pgHash(32)} % 90000, ${pgHash(33)} % 90000) ELSE '[]'::jsonb END,
      'flags', jsonb_build_object('beta', ${pgHash(34)} % 10 = 0, 'ab', 'variant-' || ${pgHash(35)} % 3)),
    p1.phrase
      || CASE WHEN ${pgHash(36)} % 3 > 0 THEN '. ' || p2.phrase ELSE '' END
      || CASE WHEN ${pgHash(37)} % 4 = 0 THEN '. ' || p3.phrase || ', ' || p4.phrase ELSE '' END
  FROM generate_series(${from}, ${to}) g
  JOIN bench_phrases p1 ON p1.id = ${pgHash(41)} % ${PHRASES}
  JOIN bench_phrases p2 ON p2.id = ${pgHash(42)} % ${PHRASES}
  JOIN bench_phrases p3 ON p3.id = ${pgHash(43)} % ${PHRASES}
  JOIN bench_phrases p4 ON p4.id = ${pgHash(44)} % ${PHRASES}`;
}

async function pgRowBytes(db: pg.Client, select: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT avg(octet_length(s::text)) AS n FROM (${select}) s`);
  return Number(rows[0]?.n ?? 0);
}

/** Rows for a target dump size: events are 40 per customer, each row's size estimated from a sample. */
function rowCounts(targetMb: number, customerBytes: number, eventBytes: number) {
  const perCustomer = customerBytes + EVENTS_PER_CUSTOMER * eventBytes;
  const customers = Math.max(100, Math.round((targetMb * 1e6) / perCustomer));
  return { customers, events: customers * EVENTS_PER_CUSTOMER };
}

export async function ensurePostgresDataset(peer: DatabasePeer, targetMb: number, log: (m: string) => void): Promise<Dataset> {
  const database = datasetName('postgres', targetMb);
  const admin = new pg.Client({ ...peer, database: 'postgres' });
  await admin.connect();
  try {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount;
    if (exists) {
      const db = new pg.Client({ ...peer, database });
      await db.connect();
      try {
        const meta = await db
          .query<{ customers: string; events: string }>('SELECT customers, events FROM bench_meta')
          .catch(() => undefined);
        const row = meta?.rows[0];
        if (row) return { database, targetMb, customers: Number(row.customers), events: Number(row.events) };
      } finally {
        await db.end();
      }
      log(`${database} is incomplete (no bench_meta); generating it again`);
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
    }
    const started = process.hrtime.bigint();
    await admin.query(`CREATE DATABASE ${database}`);
    const db = new pg.Client({ ...peer, database });
    await db.connect();
    try {
      await db.query('SET synchronous_commit = off');
      await db.query('CREATE TABLE bench_phrases (id int PRIMARY KEY, phrase text NOT NULL)');
      await db.query(`INSERT INTO bench_phrases SELECT ordinality - 1, v FROM unnest($1::text[]) WITH ORDINALITY AS t(v)`, [
        phrases(),
      ]);
      const counts = rowCounts(
        targetMb,
        await pgRowBytes(db, pgCustomersSelect(1, 2000)),
        await pgRowBytes(db, pgEventsSelect(1, 20000, 2000, 80000)),
      );
      log(`generating ${database}: ${counts.customers} customers, ${counts.events} events`);
      await db.query(`CREATE TABLE customers (
        id bigint NOT NULL, email text NOT NULL, name text NOT NULL, country char(2) NOT NULL, plan text NOT NULL,
        balance numeric(12,2) NOT NULL, external_id uuid NOT NULL, created_at timestamptz NOT NULL, attributes jsonb NOT NULL)`);
      await db.query(`CREATE TABLE events (
        id bigint NOT NULL, customer_id bigint NOT NULL, occurred_at timestamptz NOT NULL, kind text NOT NULL,
        amount numeric(12,2), payload jsonb NOT NULL, message text NOT NULL)`);
      await db.query(`INSERT INTO customers ${pgCustomersSelect(1, counts.customers)}`);
      const batch = 2_000_000;
      for (let from = 1; from <= counts.events; from += batch) {
        const to = Math.min(counts.events, from + batch - 1);
        await db.query(`INSERT INTO events ${pgEventsSelect(from, to, counts.customers, counts.events)}`);
        log(`  events ${to}/${counts.events}`);
      }
      await db.query('ALTER TABLE customers ADD PRIMARY KEY (id), ADD UNIQUE (email)');
      await db.query('ALTER TABLE events ADD PRIMARY KEY (id), ADD FOREIGN KEY (customer_id) REFERENCES customers (id)');
      await db.query('CREATE INDEX events_customer_time ON events (customer_id, occurred_at)');
      await db.query('CREATE INDEX events_kind ON events (kind)');
      await db.query('DROP TABLE bench_phrases');
      // Frozen and analyzed now, so the first measured dump does not pay for hint bits and statistics.
      await db.query('VACUUM (FREEZE, ANALYZE)');
      await db.query('CREATE TABLE bench_meta (generator int, target_mb int, customers bigint, events bigint)');
      await db.query('INSERT INTO bench_meta VALUES ($1, $2, $3, $4)', [
        GENERATOR_VERSION,
        targetMb,
        counts.customers,
        counts.events,
      ]);
      const generatedS = Number(process.hrtime.bigint() - started) / 1e9;
      log(`${database} generated in ${generatedS.toFixed(0)} s`);
      return { database, targetMb, ...counts, generatedS };
    } finally {
      await db.end();
    }
  } finally {
    await admin.end();
  }
}

// ------------------------------------------------------------------------------------------ MySQL / MariaDB

const myHash = (salt: number, g = 'g') => `CRC32(CONCAT(${g}, ':', ${salt}))`;
/** Row numbers from the 0..9999 helper table: g = hi * 10000 + lo + 1. */
const mySeries = (from: number, to: number) =>
  `(SELECT hi.n * 10000 + lo.n + 1 AS g FROM bench_seq hi JOIN bench_seq lo
    WHERE hi.n BETWEEN ${Math.floor((from - 1) / 10000)} AND ${Math.floor((to - 1) / 10000)}
      AND hi.n * 10000 + lo.n + 1 BETWEEN ${from} AND ${to}) s`;

function myCustomersSelect(from: number, to: number): string {
  return `SELECT g,
    CONCAT(LOWER(${mysqlElt(`${myHash(9)} % ${FIRST.length}`, FIRST)}), '.', LOWER(${mysqlElt(`${myHash(10)} % ${LAST.length}`, LAST)}), g, '@',
      ELT(1 + ${myHash(1)} % 4, 'example.com', 'mail.test', 'corp.example', 'shop.test')),
    CONCAT(${mysqlElt(`${myHash(9)} % ${FIRST.length}`, FIRST)}, ' ', ${mysqlElt(`${myHash(10)} % ${LAST.length}`, LAST)}),
    ${mysqlElt(`${myHash(2)} % ${COUNTRIES.length}`, COUNTRIES)},
    ${mysqlElt(`${myHash(3)} % ${PLANS.length}`, PLANS)},
    (${myHash(4)} % 10000000) / 100.0,
    UNHEX(MD5(CONCAT('c', g))),
    TIMESTAMP('2022-01-01 00:00:00') + INTERVAL (${myHash(5)} % 94608000) SECOND,
    JSON_OBJECT('newsletter', ${myHash(6)} % 2 = 0, 'locale', ELT(1 + ${myHash(7)} % 4, 'en-US', 'de-DE', 'fr-FR', 'ja-JP'),
      'tags', JSON_ARRAY(p.phrase), 'score', ${myHash(8)} % 1000)
  FROM ${mySeries(from, to)}
  JOIN bench_phrases p ON p.id = ${myHash(11)} % ${PHRASES}`;
}

function myEventsSelect(from: number, to: number, customers: number, events: number): string {
  return `SELECT g,
    1 + ${myHash(21)} % ${customers},
    TIMESTAMP('2025-01-01 00:00:00') + INTERVAL FLOOR((g * (31536000.0 / ${events}) + ${myHash(22)} % 600) * 1000000) MICROSECOND,
    ${mysqlElt(`${myHash(23)} % ${KINDS.length}`, KINDS)},
    IF(${myHash(24)} % 3 = 0, NULL, (${myHash(25)} % 50000) / 100.0),
    JSON_OBJECT(
      'ip', CONCAT('10.', ${myHash(26)} % 256, '.', ${myHash(27)} % 256, '.', ${myHash(28)} % 256),
      'session', LEFT(MD5(CONCAT('s', g DIV 7)), 20),
      'ua', ${mysqlElt(`${myHash(29)} % ${AGENTS.length}`, AGENTS)},
      'path', CONCAT('/', SUBSTRING_INDEX(p1.phrase, ' ', 1), '/', ${myHash(30)} % 5000),
      'items', IF(${myHash(31)} % 4 = 0, JSON_ARRAY(${myHash(32)} % 90000, ${myHash(33)} % 90000), JSON_ARRAY()),
      'flags', JSON_OBJECT('beta', ${myHash(34)} % 10 = 0, 'ab', CONCAT('variant-', ${myHash(35)} % 3))),
    CONCAT(p1.phrase,
      IF(${myHash(36)} % 3 > 0, CONCAT('. ', p2.phrase), ''),
      IF(${myHash(37)} % 4 = 0, CONCAT('. ', p3.phrase, ', ', p4.phrase), ''))
  FROM ${mySeries(from, to)}
  JOIN bench_phrases p1 ON p1.id = ${myHash(41)} % ${PHRASES}
  JOIN bench_phrases p2 ON p2.id = ${myHash(42)} % ${PHRASES}
  JOIN bench_phrases p3 ON p3.id = ${myHash(43)} % ${PHRASES}
  JOIN bench_phrases p4 ON p4.id = ${myHash(44)} % ${PHRASES}`;
}

/** Average length of a table's rows as comma-separated values (about a mysqldump row, before escaping). */
async function myRowBytes(db: mysql.Connection, table: string, columns: readonly string[]): Promise<number> {
  const [rows] = (await db.query(`SELECT AVG(LENGTH(CONCAT_WS(',', ${columns.join(', ')}))) AS n FROM ${table}`)) as unknown as [
    { n: string }[],
  ];
  return Number(rows[0]?.n ?? 0);
}

export async function ensureMysqlDataset(peer: DatabasePeer, targetMb: number, log: (m: string) => void): Promise<Dataset> {
  const database = datasetName('mysql', targetMb);
  const db = await mysql.createConnection({ ...peer, multipleStatements: false });
  try {
    const [found] = (await db.query(
      'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [database, 'bench_meta'],
    )) as unknown as [{ n: number }[]];
    if (Number(found[0]?.n ?? 0) > 0) {
      const [meta] = (await db.query(`SELECT customers, events FROM \`${database}\`.bench_meta`)) as unknown as [
        { customers: number; events: number }[],
      ];
      if (meta[0]) return { database, targetMb, customers: Number(meta[0].customers), events: Number(meta[0].events) };
    }
    const started = process.hrtime.bigint();
    await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await db.query(`CREATE DATABASE \`${database}\` DEFAULT CHARACTER SET utf8mb4`);
    await db.query(`USE \`${database}\``);
    await db.query('CREATE TABLE bench_seq (n INT PRIMARY KEY)');
    await db.query(`INSERT INTO bench_seq SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d FROM
      (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
      (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
      (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
      (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e`);
    await db.query('CREATE TABLE bench_phrases (id INT PRIMARY KEY, phrase VARCHAR(200) NOT NULL)');
    const all = phrases();
    await db.query('INSERT INTO bench_phrases VALUES ?', [all.map((phrase, id) => [id, phrase])]);
    await db.query(`CREATE TABLE customers (
      id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL, country CHAR(2) NOT NULL,
      plan VARCHAR(20) NOT NULL, balance DECIMAL(12,2) NOT NULL, external_id BINARY(16) NOT NULL, created_at DATETIME NOT NULL,
      attributes JSON NOT NULL) ENGINE=InnoDB`);
    await db.query(`CREATE TABLE events (
      id BIGINT NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL, occurred_at DATETIME(6) NOT NULL, kind VARCHAR(20) NOT NULL,
      amount DECIMAL(12,2) NULL, payload JSON NOT NULL, message TEXT NOT NULL) ENGINE=InnoDB`);
    // Escaped JSON quotes and hex UUIDs make mysqldump rows about 10% longer than the raw values.
    await db.query(`INSERT INTO customers ${myCustomersSelect(1, 2000)}`);
    await db.query(`INSERT INTO events ${myEventsSelect(1, 20000, 2000, 80000)}`);
    const counts = rowCounts(
      targetMb,
      1.1 *
        (await myRowBytes(db, 'customers', [
          'id',
          'email',
          'name',
          'country',
          'plan',
          'balance',
          'HEX(external_id)',
          'created_at',
          'attributes',
        ])),
      1.1 * (await myRowBytes(db, 'events', ['id', 'customer_id', 'occurred_at', 'kind', 'amount', 'payload', 'message'])),
    );
    await db.query('TRUNCATE TABLE customers');
    await db.query('TRUNCATE TABLE events');
    log(`generating ${database}: ${counts.customers} customers, ${counts.events} events`);
    await db.query(`INSERT INTO customers ${myCustomersSelect(1, counts.customers)}`);
    const batch = 500_000;
    for (let from = 1; from <= counts.events; from += batch) {
      const to = Math.min(counts.events, from + batch - 1);
      await db.query(`INSERT INTO events ${myEventsSelect(from, to, counts.customers, counts.events)}`);
      log(`  events ${to}/${counts.events}`);
    }
    await db.query('ALTER TABLE customers ADD UNIQUE KEY customers_email (email)');
    await db.query('SET SESSION foreign_key_checks = 0'); // rows are valid by construction; skip the scan
    await db.query(`ALTER TABLE events ADD KEY events_customer_time (customer_id, occurred_at), ADD KEY events_kind (kind),
      ADD CONSTRAINT events_customer FOREIGN KEY (customer_id) REFERENCES customers (id)`);
    await db.query('SET SESSION foreign_key_checks = 1');
    await db.query('DROP TABLE bench_phrases, bench_seq');
    await db.query('CREATE TABLE bench_meta (generator INT, target_mb INT, customers BIGINT, events BIGINT)');
    await db.query('INSERT INTO bench_meta VALUES (?, ?, ?, ?)', [GENERATOR_VERSION, targetMb, counts.customers, counts.events]);
    const generatedS = Number(process.hrtime.bigint() - started) / 1e9;
    log(`${database} generated in ${generatedS.toFixed(0)} s`);
    return { database, targetMb, ...counts, generatedS };
  } finally {
    await db.end();
  }
}
