/** Compression of artifacts with Node's built-in codecs (zstd needs Node >= 22.15; we run 24). */
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';

import type { Compression } from '../../contracts/manifest.ts';

export function compressor(kind: Compression): Transform {
  switch (kind) {
    case 'zstd':
      // Level 3 is zstd's default: several times faster than gzip -6 at a better ratio.
      return zlib.createZstdCompress({
        params: { [zlib.constants.ZSTD_c_compressionLevel]: 3, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
      });
    case 'gzip':
      return zlib.createGzip({ level: 6 });
    case 'none':
      return new PassThrough();
  }
}

export function decompressor(kind: Compression): Transform {
  switch (kind) {
    case 'zstd':
      return zlib.createZstdDecompress();
    case 'gzip':
      return zlib.createGunzip();
    case 'none':
      return new PassThrough();
  }
}
