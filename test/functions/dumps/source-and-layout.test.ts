import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newRunId, objectName, parseS3Url, runPrefix } from '#functions/contracts/artifact-layout.ts';
import { UsageError } from '#functions/contracts/errors.ts';
import { credentialsFromEnvironment, parseDatabaseUrl } from '#functions/dumps/source.ts';

describe('parseDatabaseUrl', () => {
  it('reads host, port, user and databases, with the password from the environment', () => {
    const credentials = credentialsFromEnvironment('postgres', { SAFEKEEP_DB_PASSWORD: 'from-env' });
    expect(parseDatabaseUrl('postgres://app@db.internal:6543/metadb,other', 'postgres', '--source', credentials)).toEqual({
      engine: 'postgres',
      host: 'db.internal',
      port: 6543,
      user: 'app',
      password: 'from-env',
      databases: ['metadb', 'other'],
    });
  });

  it('uses the engine defaults for port and user', () => {
    expect(parseDatabaseUrl('mysql://db', 'mysql', '--source', {})).toMatchObject({ port: 3306, user: 'root', databases: [] });
  });

  it('keeps an encoded comma inside its database name (the dispatcher encodes every name)', () => {
    const url = `postgres://db/${['sales,eu', 'ünï cöde'].map(encodeURIComponent).join(',')}`;
    expect(parseDatabaseUrl(url, 'postgres', '--source', {}).databases).toEqual(['sales,eu', 'ünï cöde']);
  });

  it('refuses a password in the URL, saying where it belongs instead', () => {
    expect(() => parseDatabaseUrl('postgres://app:hunter2@db/x', 'postgres', '--source', {})).toThrow(
      /--source contains a password; remove it and pass it in SAFEKEEP_DB_PASSWORD/,
    );
  });

  it('refuses a scheme that does not match the engine', () => {
    expect(() => parseDatabaseUrl('mysql://db/x', 'postgres', '--source', {})).toThrow(UsageError);
  });
});

describe('artifact layout', () => {
  it('puts a run under <target>/<yyyy>/<mm>/<dd>/<run-id>/ in UTC', () => {
    const at = new Date('2026-01-02T23:59:58.123Z');
    const runId = newRunId(at, 'a1b2c3');
    expect(runId).toBe('20260102T235958Z-a1b2c3');
    expect(runPrefix('orders-db', at, runId)).toBe('orders-db/2026/01/02/20260102T235958Z-a1b2c3/');
  });

  it('run ids sort in time order', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2199-12-31'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 10 ** 9 }),
        (at, later) => {
          const next = new Date(at.getTime() + later);
          if (Math.floor(next.getTime() / 1000) === Math.floor(at.getTime() / 1000)) return;
          expect(newRunId(at, 'ffffff') < newRunId(next, '000000')).toBe(true);
        },
      ),
    );
  });

  it('encodes database names so any name makes one safe key segment', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        const file = objectName('database', name, '.sql');
        expect(file).not.toMatch(/\//);
        expect(decodeURIComponent(file.slice('database-'.length, -'.sql'.length))).toBe(name);
      }),
    );
  });

  it.each(['s3://b', 'http://bucket/x', 's3://bucket/../etc', 's3://Bucket_Upper/x'])('refuses %s as --to', (url) => {
    expect(() => parseS3Url(url, '--to')).toThrow(UsageError);
  });
});
