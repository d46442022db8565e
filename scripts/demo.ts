/**
 * `npm start`: Safekeep end to end on this machine, no AWS account. Starts the local peers, loads three
 * small sample databases the way Bytebase (PostgreSQL), OpenMetadata (MySQL/MariaDB) and Dolt keep their
 * data, backs each up into the local S3 store (versitygw), verifies it, restores it under a new name, and
 * prints what it did. Run by scripts/start.sh after scripts/setup.sh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { peerCoordinates, RUN_DIR } from '#test/support/peers.ts';

const BUCKET = 'safekeep-demo';
const DOLT_TABLE = 'safekeep-demo-dolt';

function step(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

function peersUp(): void {
  execFileSync('bash', ['scripts/peers.sh', 'start', 'postgres', 'mariadb', 'moto', 'versitygw', 'dolt'], { stdio: 'inherit' });
}

async function loadSamples(): Promise<void> {
  // Bytebase: metadata in PostgreSQL (its --pg database).
  const admin = new pg.Client({ ...postgres, database: 'postgres' });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS metadb WITH (FORCE)');
  await admin.query('CREATE DATABASE metadb');
  await admin.end();
  const meta = new pg.Client({ ...postgres, database: 'metadb' });
  await meta.connect();
  await meta.query(`CREATE TABLE instance (id serial PRIMARY KEY, name text NOT NULL, engine text, created_at timestamptz DEFAULT now());
    CREATE TABLE migration_history (id bigserial PRIMARY KEY, namespace text NOT NULL, version text, statement text);
    INSERT INTO instance (name, engine) VALUES ('prod-orders', 'POSTGRES'), ('analytics', 'MYSQL'), ('ledger ✓', 'DOLT');
    INSERT INTO migration_history (namespace, version, statement) SELECT 'metadb', '1.' || g, 'ALTER TABLE t' || g || ' ADD COLUMN c int' FROM generate_series(1, 500) g;`);
  await meta.end();

  // OpenMetadata: metadata in MySQL (openmetadata_db).
  const my = await mysql.createConnection({ ...mariadb, multipleStatements: true });
  await my.query(`DROP DATABASE IF EXISTS openmetadata_db; CREATE DATABASE openmetadata_db; USE openmetadata_db;
    CREATE TABLE table_entity (id VARCHAR(36) PRIMARY KEY, json JSON NOT NULL, updatedAt BIGINT);
    INSERT INTO table_entity VALUES (UUID(), '{"name": "orders", "columns": 12}', 1), (UUID(), '{"name": "customers", "tags": ["PII"]}', 2);`);
  await my.end();

  // Dolt: a versioned database with branches and work in progress.
  const shop = await mysql.createConnection({ ...dolt });
  await shop.query('DROP DATABASE IF EXISTS shop');
  await shop.query('CREATE DATABASE shop');
  await shop.query('USE shop');
  await shop.query('CREATE TABLE products (id INT PRIMARY KEY, name VARCHAR(100), price DECIMAL(10,2))');
  await shop.query("INSERT INTO products VALUES (1, 'kettle', 29.90), (2, 'teapot', 19.50)");
  await shop.query("CALL dolt_commit('-Am', 'catalogue')");
  await shop.query("CALL dolt_tag('v1')");
  await shop.query("CALL dolt_branch('summer-sale')");
  await shop.query('USE `shop/summer-sale`');
  await shop.query('UPDATE products SET price = price * 0.8');
  await shop.end();
}

async function prepareStore(): Promise<void> {
  const s3 = new S3Client({
    endpoint: versitygw.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: versitygw.accessKeyId, secretAccessKey: versitygw.secretAccessKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((error: Error) => {
    if (!/BucketAlready/.test(error.name)) throw error;
  });
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  const dynamo = new DynamoDBClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  });
  await dynamo
    .send(
      new CreateTableCommand({
        TableName: DOLT_TABLE,
        AttributeDefinitions: [{ AttributeName: 'db', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'db', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    )
    .catch((error: Error) => {
      if (!(error instanceof ResourceInUseException)) throw error;
    });
}

/** Runs the CLI as a user would, printing the command (the password travels in the environment). */
function safekeep(args: string[], env: NodeJS.ProcessEnv): string {
  process.stdout.write(`$ safekeep ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, ['--max-semi-space-size=4', 'bin/safekeep.js', ...args], { env, encoding: 'utf8' });
  process.stdout.write(run.stdout.replace(/^/gm, '  '));
  if (run.status !== 0) {
    process.stderr.write(run.stderr);
    throw new Error(`safekeep ${args[0]} failed with exit code ${run.status}`);
  }
  return run.stdout;
}

step('starting the local peers (PostgreSQL, MariaDB, moto, versitygw, Dolt) on 127.0.0.1');
peersUp();
// Read after the start: the first start generates the credentials.
const postgres = peerCoordinates('postgres');
const mariadb = peerCoordinates('mariadb');
const dolt = peerCoordinates('dolt');
const versitygw = peerCoordinates('versitygw');
const moto = peerCoordinates('moto');
const env = {
  ...process.env,
  SAFEKEEP_DB_PASSWORD: postgres.password, // every database peer shares the generated password
  AWS_ACCESS_KEY_ID: versitygw.accessKeyId,
  AWS_SECRET_ACCESS_KEY: versitygw.secretAccessKey,
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_S3: versitygw.endpoint,
  AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
};
const s3 = ['--endpoint-url', versitygw.endpoint];
const suffix = randomBytes(2).toString('hex');

step('loading sample databases: Bytebase metadata (PostgreSQL), OpenMetadata (MariaDB), a Dolt shop with a branch in progress');
await loadSamples();
await prepareStore();

const targets = [
  {
    engine: 'postgres',
    source: `postgres://postgres@127.0.0.1:${postgres.port}/metadb`,
    target: 'bytebase-meta',
    restoreTo: `postgres://postgres@127.0.0.1:${postgres.port}/metadb_restored_${suffix}`,
    // Bytebase's restore option 2: migration_history.namespace must name the new database.
    restoreExtra: ['--recipe', 'bytebase'],
  },
  {
    engine: 'mysql',
    source: `mysql://root@127.0.0.1:${mariadb.port}/openmetadata_db`,
    target: 'openmetadata',
    restoreTo: `mysql://root@127.0.0.1:${mariadb.port}/openmetadata_restored_${suffix}`,
  },
  {
    engine: 'dolt',
    source: `dolt://root@127.0.0.1:${dolt.port}/shop`,
    target: 'dolt-shop',
    restoreTo: `dolt://root@127.0.0.1:${dolt.port}/shop_restored_${suffix}`,
    extra: ['--dolt-dynamodb-table', DOLT_TABLE],
  },
];
for (const t of targets) {
  step(`backing up ${t.target} (${t.engine})`);
  const dump = safekeep(
    ['dump', '--engine', t.engine, '--source', t.source, '--to', `s3://${BUCKET}/${t.target}`, ...(t.extra ?? []), ...s3],
    env,
  );
  const manifest = /(s3:\/\/\S+manifest\.json)/.exec(dump)?.[1] ?? '';
  step(`verifying ${t.target}: every object re-read against its SHA-256, then checked by the engine itself`);
  safekeep(['verify', '--from', manifest, ...s3], env);
  step(`restoring ${t.target} under a new name`);
  safekeep(['restore', '--from', manifest, '--target', t.restoreTo, ...(t.restoreExtra ?? []), ...s3], env);
}
step('every backup in the bucket');
safekeep(['list', '--bucket', BUCKET, ...s3], env);
process.stdout.write(`
Done: three databases backed up into s3://${BUCKET} on the local S3 store, verified and restored as
metadb_restored_${suffix}, openmetadata_restored_${suffix} and shop_restored_${suffix}. The peers keep running so you
can look around (credentials in ${RUN_DIR}/credentials.env); stop them with: bash scripts/peers.sh stop
`);
