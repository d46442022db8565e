/**
 * An esbuild plugin that lets the AWS SDK's clients tree-shake again. Each client's schemas
 * (`dist-es/schemas/schemas_0.js`) write their traits with computed keys, `{ [_xN]: _TSa }`, where `_xN` is a
 * module constant holding "xmlName". esbuild cannot prove a computed key free of side effects, so it keeps
 * every schema of the client: 550 KB for EC2, of which the snapshot handlers use a dozen operations. This
 * rewrites each such key to the constant's own string literal, `{ "xmlName": _TSa }`, the same object, which
 * is what the SDK's generator is being changed to emit upstream (aws/aws-sdk-js-v3#7607,
 * smithy-lang/smithy-typescript#1889); drop the plugin once the SDK ships that.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;
/** The generator's string table: `const _xN = "xmlName";`, one per line at the top of the module. */
const STRING_CONSTANT = /^const (_\w+) = ("[^"\\\n]*");$/gm;
/** A computed object key naming one of them: `[_xN]:` (an array element is never directly followed by `:`). */
const COMPUTED_KEY = /\[(_\w+)\]:/g;

/** The module with every computed key that names a string constant of its table written as that string. */
export function withLiteralTraitKeys(source: string): string {
  const strings = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) if (name && literal) strings.set(name, literal);
  return source.replace(COMPUTED_KEY, (key, name: string) => {
    const literal = strings.get(name);
    return literal === undefined ? key : `${literal}:`;
  });
}

export const literalSdkSchemaKeys: Plugin = {
  name: 'literal-sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, async ({ path }) => ({
      contents: withLiteralTraitKeys(await readFile(path, 'utf8')),
      loader: 'js',
    }));
  },
};
