import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '#functions/contracts/manifest.ts';
import { storedPath } from '#functions/dumps/engines/dolt/server-dir.ts';

const object = (name: string): ManifestObject => ({
  key: `dolt-prod/2026/11/21/run/${name}`,
  role: 'server-config',
  format: 'file',
  compression: 'zstd',
  storedBytes: 1,
  sha256: '0'.repeat(64),
});

describe('a stored server file', () => {
  it('goes back to the path its key names', () => {
    expect(storedPath(object(`server-config-${encodeURIComponent('data/shop/.dolt/repo_state.json')}.zst`))).toBe(
      'data/shop/.dolt/repo_state.json',
    );
    expect(storedPath(object(`server-config-${encodeURIComponent('config/server.yaml')}`))).toBe('config/server.yaml');
  });

  it('is refused when its key would lead out of the directory', () => {
    expect(() => storedPath(object(`server-config-${encodeURIComponent('data/../../etc/passwd')}.zst`))).toThrow(/unsafe path/);
  });
});
