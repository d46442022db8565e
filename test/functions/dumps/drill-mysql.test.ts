/**
 * MySQL and MariaDB restore drills on the local peers: each peer's backup restored into a scratch server of
 * its own flavor (MariaDB from the host's packages; MySQL from the MySQL peer's rootfs, through a wrapper that
 * runs its mysqld with the rootfs's loader, as scripts/peers.sh does), and compared with the manifest.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MYSQL_DATASET } from '#test/support/datasets/mysql.ts';
import { mysqlServers } from '#test/support/mysql-servers.ts';
import { peer, RUN_DIR } from '#test/support/peers.ts';
import { createVersionedBucket, uniqueName } from '#test/support/worker.ts';
import { drillHarness, failedOn } from './drill-support.ts';

const versitygw = await peer('versitygw');
const servers = (await mysqlServers()).filter((server) => server.peer !== undefined);

/** The MySQL peer's mysqld, runnable from anywhere: the rootfs's loader and libraries, its share and plugin dirs. */
async function mysqldWrapper(dir: string): Promise<string> {
  const usr = join(RUN_DIR, 'mysql', 'dist', 'usr');
  const path = join(dir, 'mysqld');
  await writeFile(
    path,
    `#!/bin/bash\n# --no-defaults must stay first\nfirst="$1"; shift\nexec ${usr}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --inhibit-cache --library-path ${usr}/lib/x86_64-linux-gnu --argv0 ${usr}/sbin/mysqld ${usr}/sbin/mysqld "$first" --basedir=${usr} --lc-messages-dir=${usr}/share/mysql --character-sets-dir=${usr}/share/mysql/charsets --plugin-dir=${usr}/lib/mysql/plugin "$@"\n`,
  );
  await chmod(path, 0o755);
  return path;
}

describe.skipIf(!versitygw || servers.length === 0).each(servers)(
  'a $server backup, drilled',
  ({ server, tools, peer: found }) => {
    const source = found as NonNullable<typeof found>;
    let bucket = '';
    let wrapperDir = '';
    const harness = drillHarness(
      versitygw as NonNullable<typeof versitygw>,
      () => bucket,
      () => ({ SAFEKEEP_DB_PASSWORD: source.password }),
    );
    const dump = (database: string, target: string) =>
      harness.backup([
        '--engine',
        'mysql',
        '--source',
        `mysql://${source.user}@${source.host}:${source.port}/${database}`,
        '--to',
        `s3://${bucket}/${target}`,
      ]);

    async function createDatabase(name: string): Promise<void> {
      const admin = await mysql.createConnection({ ...source });
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.changeUser({ database: name });
      for (const statement of MYSQL_DATASET) await admin.query(statement);
      await admin.end();
    }

    beforeAll(async () => {
      for (const [name, value] of Object.entries(tools)) vi.stubEnv(name, value);
      wrapperDir = await mkdtemp(join(tmpdir(), 'drill-mysqld-'));
      if (server === 'MySQL') vi.stubEnv('SAFEKEEP_MYSQLD', await mysqldWrapper(wrapperDir));
      bucket = await createVersionedBucket(harness.s3, 'drill-mysql');
    });
    afterAll(async () => {
      vi.unstubAllEnvs();
      await rm(wrapperDir, { recursive: true, force: true });
    });

    it(`restores into a scratch ${server} and finds every table, row and schema object`, async () => {
      const database = uniqueName('drill_good');
      await createDatabase(database);
      const { key, manifest } = await dump(database, 'my-good');
      const data = manifest.objects.find((o) => o.role === 'database');
      expect(data?.schemaObjects).toEqual({ TABLE: 5, VIEW: 1, TRIGGER: 1, PROCEDURE: 1, FUNCTION: 1, EVENT: 1 });

      const result = await harness.drill(key);

      expect(result.validationStatus, result.validationStatusMessage).toBe('SUCCESSFUL');
      expect(result.restore.serverVersion).toMatch(server === 'MySQL' ? /^MySQL 9\./ : /^MariaDB .*MariaDB/);
      expect(result.compared).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ what: 'rows', subject: `${database}: orders`, expected: 1000, found: 1000, ok: true }),
          expect.objectContaining({ what: 'schema-objects', subject: `${database}: EVENT`, expected: 1, found: 1, ok: true }),
        ]),
      );
    });

    it.skipIf(server === 'MySQL')('fails on the row counts when the dump was swapped for another valid one', async () => {
      const database = uniqueName('drill_swap');
      await createDatabase(database);
      const original = await dump(database, 'my-swap');
      const admin = await mysql.createConnection({ ...source, database });
      await admin.query('DELETE FROM texts WHERE id > 2');
      await admin.end();
      const other = await dump(database, 'my-swap');
      const dataOf = (m: typeof original.manifest) => m.objects.find((o) => o.role === 'database') as (typeof m.objects)[number];
      const body = await harness.objectBytes(dataOf(other.manifest).key, dataOf(other.manifest).versionId);
      await harness.replaceObject(original.key, dataOf(original.manifest).key, body, false);

      const result = await harness.drill(original.key);

      expect(result.validationStatus).toBe('FAILED');
      expect(failedOn(result, 'sha256')).toEqual([]);
      expect(failedOn(result, 'rows')).toEqual([expect.objectContaining({ subject: `${database}: texts`, found: 2 })]);
      expect(result.validationStatusMessage).toContain('texts');
    });
  },
);
