/**
 * The Lambda bundles rewrite the SDK's schema modules so that they tree-shake (infra/bundling/sdk-schema-keys.ts).
 * A rewrite that changed a schema would change what a client sends or how it reads an answer, so the same
 * requests go through the SDK as published (from node_modules) and through the deployed bundler's build of it,
 * and must come out identical.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleHandler } from '#infra/bundling/handler-bundle.ts';
import { withLiteralTraitKeys } from '#infra/bundling/sdk-schema-keys.ts';
import { probeSdk } from '#test/support/sdk-probe.ts';

const scratch = mkdtempSync(join(tmpdir(), 'safekeep-sdk-keys-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('literal schema keys', () => {
  it('writes a computed key that names a string constant as that string, and nothing else', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _TSa = "TagSpecification";',
      'export var A$ = [3, n0, _TSa, 0, [_xN], [[() => L, { [_xN]: _TSa, [other]: 1 }]]];',
    ].join('\n');
    expect(withLiteralTraitKeys(source)).toBe(source.replace('{ [_xN]: _TSa, [other]: 1 }', '{ "xmlName": _TSa, [other]: 1 }'));
  });

  it('leaves what the clients send and parse exactly as the published SDK does', {
    timeout: 60_000,
  }, async () => {
    const published = await probeSdk();
    const { size, inputs } = await bundleHandler(join(import.meta.dirname, '..', 'support', 'sdk-probe.ts'), {
      outdir: scratch,
    });
    const bundled = (await import(pathToFileURL(join(scratch, 'index.mjs')).href)) as typeof import('#test/support/sdk-probe.ts');
    expect(await bundled.probeSdk()).toEqual(published);
    // Not equal by accident: the probe exercised the traits the rewrite touches.
    const text = JSON.stringify(published);
    expect(text).toContain('TagSpecification.1.Tag.1.Key=safekeep%3Atarget'); // EC2's query names
    expect(text).toContain('Tags.Tag.1.Key=safekeep%3Atarget'); // RDS's member names
    expect(text).toContain('"x-amz-meta-safekeep-run":"r-1"'); // S3's prefix headers
    expect(text).toContain('"Prefix":"orders/x/"'); // S3's flattened lists
    expect(text).toContain('"x-amz-invocation-type":"RequestResponse"'); // Lambda's HTTP headers
    expect(text).toContain('"ExecutedVersion":"7"'); // and the headers it reads back
    expect(text).toContain('"tags":{"SS":["a","b"]}'); // DynamoDB's attribute values
    // And the rewrite did its job: EC2's schemas tree-shook (550 KB of them unshaken).
    expect(inputs.some((input) => input.includes('client-ec2/dist-es/schemas'))).toBe(true);
    expect(size).toBeLessThan(600_000);
  });
});
