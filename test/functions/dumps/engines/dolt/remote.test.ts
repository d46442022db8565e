import { describe, expect, it } from 'vitest';
import { UsageError } from '#functions/contracts/errors.ts';
import { bucketLocation, doltRemoteFor } from '#functions/dumps/engines/dolt/remote.ts';

const RUN = 'shop/2026/11/21/20261121T193000Z-a1b2c3/';

describe('doltRemoteFor', () => {
  it('puts each run and database under its own aws:// path in the artifact bucket', () => {
    expect(doltRemoteFor({ dynamoTable: 'manifests' }, 'backups', RUN, 'shop')).toEqual({
      url: `aws://[manifests:backups]/${RUN}dolt/shop`,
      bucketPrefix: `${RUN}dolt/shop/`,
    });
  });

  it('encodes database names so they stay one path segment', () => {
    expect(doltRemoteFor({ dynamoTable: 'manifests' }, 'backups', RUN, 'a/b c').url).toMatch(/dolt\/a%2Fb%20c$/);
  });

  it.each(['..', '.'])('refuses a database named "%s", which would climb out of the run directory', (name) => {
    expect(() => doltRemoteFor({ baseUrl: 'file:///var/backups' }, 'backups', RUN, name)).toThrow(
      /a database named "\.+" cannot be backed up to a remote path; rename it/,
    );
  });

  it('hashes files under a --dolt-url only when they land in the artifact bucket', () => {
    expect(doltRemoteFor({ baseUrl: 'aws://[t:backups]/dolt-root/' }, 'backups', RUN, 'shop')).toEqual({
      url: `aws://[t:backups]/dolt-root/${RUN}dolt/shop`,
      bucketPrefix: `dolt-root/${RUN}dolt/shop/`,
    });
    expect(doltRemoteFor({ baseUrl: 'aws://[t:elsewhere]/x' }, 'backups', RUN, 'shop').bucketPrefix).toBeUndefined();
    expect(doltRemoteFor({ baseUrl: 'file:///var/backups' }, 'backups', RUN, 'shop')).toEqual({
      url: `file:///var/backups/${RUN}dolt/shop`,
    });
  });

  it('refuses a run without a destination, or one Dolt cannot sync to, with a usage error', () => {
    expect(() => doltRemoteFor({}, 'backups', RUN, 'shop')).toThrow(UsageError);
    expect(() => doltRemoteFor({}, 'backups', RUN, 'shop')).toThrow(/--dolt-dynamodb-table/);
    expect(() => doltRemoteFor({ baseUrl: 'https://doltremoteapi.dolthub.com/x' }, 'b', RUN, 'shop')).toThrow(/--dolt-url/);
    expect(() => doltRemoteFor({ dynamoTable: 'no spaces' }, 'b', RUN, 'shop')).toThrow(/DynamoDB table name/);
  });
});

describe('bucketLocation', () => {
  it('reads the bucket and key of aws:// and s3:// remotes, and nothing of others', () => {
    expect(bucketLocation('aws://[t:b]/p/q')).toEqual({ bucket: 'b', key: 'p/q' });
    expect(bucketLocation('s3://b/p/q?endpoint=x')).toEqual({ bucket: 'b', key: 'p/q' });
    expect(bucketLocation('file:///p/q')).toBeUndefined();
  });
});
