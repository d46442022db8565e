/**
 * What the drill tests share: the CLI in-process against the S3 peer, the drill core over the same store,
 * tampering with a stored backup (an object replaced, with the manifest rewritten to match it; bytes flipped),
 * and the check that no scratch server or directory outlives a drill.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { main } from '#functions/cli/main.ts';
import { type DrillResult, drillKeyOf, drillResultSchema } from '#functions/contracts/drill.ts';
import type { Manifest } from '#functions/contracts/manifest.ts';
import { runDrill } from '#functions/dumps/drill.ts';
import { s3ArtifactStore } from '#functions/platform/s3-artifact-store.ts';
import { s3Client } from '#test/support/aws.ts';
import type { S3Peer } from '#test/support/peers.ts';
import { captureTerminal } from '#test/support/worker.ts';

export function drillHarness(s3Peer: S3Peer, bucket: () => string, env: () => Record<string, string> = () => ({})) {
  const s3 = s3Client(s3Peer);
  const store = () => s3ArtifactStore(s3, bucket(), { abortRetryMs: 1_000 });

  async function cli(args: string[], extraEnv: Record<string, string> = {}) {
    const capture = captureTerminal();
    const code = await main(args, {
      env: { ...env(), ...extraEnv },
      terminal: capture.terminal,
      now: () => new Date(),
      openStore: (name) => s3ArtifactStore(s3, name, { abortRetryMs: 1_000 }),
      readSecret: () => Promise.reject(new Error('no secrets here')),
    });
    return { code, stdout: capture.stdout(), stderr: capture.stderr() };
  }

  /** A backup by `safekeep dump`; returns its manifest key and manifest. */
  async function backup(args: string[], extraEnv: Record<string, string> = {}) {
    const run = await cli(['dump', ...args, '--json'], extraEnv);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as Manifest & { manifest: string };
    return { key: keyOf(out.manifest), manifest: out as Manifest };
  }

  async function drill(manifestKey: string, endpointUrl?: string): Promise<DrillResult> {
    const before = scratchLeftovers();
    const { result, key } = await runDrill(
      {
        manifestKey,
        drillId: `20261201T000000Z-drill${Math.random().toString(36).slice(2, 6)}`,
        trigger: 'manual',
        timeoutMs: 600_000,
        endpointUrl,
      },
      { store: store(), log: { info: () => {}, warn: () => {} }, now: () => new Date() },
    );
    expect(key).toBe(drillKeyOf(manifestKey));
    // What was written is what was returned, and it is a drill result.
    expect(drillResultSchema.parse(JSON.parse(await readText(s3, bucket(), key)))).toEqual(result);
    expect(scratchLeftovers()).toEqual(before);
    return result;
  }

  async function readManifest(key: string): Promise<Manifest> {
    return JSON.parse(await readText(s3, bucket(), key)) as Manifest;
  }

  async function writeManifest(key: string, manifest: Manifest): Promise<void> {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket(), Key: key, Body: JSON.stringify(manifest), ContentType: 'application/json' }),
    );
  }

  /** Puts `body` as the object's newest version and points the manifest at it; `keepHash` leaves the recorded SHA-256. */
  async function replaceObject(manifestKey: string, objectKey: string, body: Buffer, keepHash: boolean): Promise<void> {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: objectKey, Body: body }));
    const manifest = await readManifest(manifestKey);
    const { createHash } = await import('node:crypto');
    manifest.objects = manifest.objects.map((object) =>
      object.key !== objectKey
        ? object
        : {
            ...object,
            versionId: put.VersionId,
            ...(keepHash ? {} : { sha256: createHash('sha256').update(body).digest('hex'), storedBytes: body.length }),
          },
    );
    await writeManifest(manifestKey, manifest);
  }

  async function objectBytes(key: string, versionId?: string): Promise<Buffer> {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key, VersionId: versionId }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
  }

  /** Flips one byte in the middle of the object (as a new version the manifest then pins, hash unchanged). */
  async function flipByte(manifestKey: string, objectKey: string): Promise<void> {
    const manifest = await readManifest(manifestKey);
    const object = manifest.objects.find((o) => o.key === objectKey);
    const body = await objectBytes(objectKey, object?.versionId);
    const middle = Math.floor(body.length / 2);
    body[middle] = (body[middle] ?? 0) ^ 0x5a;
    await replaceObject(manifestKey, objectKey, body, true);
  }

  return { s3, store, cli, backup, drill, readManifest, writeManifest, replaceObject, objectBytes, flipByte };
}

export const keyOf = (url: string) => url.replace(/^s3:\/\/[^/]+\//, '');

async function readText(s3: S3Client, bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToString('utf8')) ?? '';
}

/**
 * This test file's own temp root: vitest runs files in parallel processes, and a drill of another file
 * running meanwhile must not look like a leftover of this one. Scratch servers run as the database's
 * own user when the tests run as root, so the root is writable by all, like /tmp.
 */
const scratchRoot = mkdtempSync(join(tmpdir(), 'safekeep-drill-tests-'));
chmodSync(scratchRoot, 0o1777);
process.env.TMPDIR = scratchRoot;
process.on('exit', () => rmSync(scratchRoot, { recursive: true, force: true }));

/** Scratch directories in this file's temp root and scratch server processes (found by their temp directories). */
export function scratchLeftovers(): { dirs: string[]; processes: string[] } {
  const scratch = /safekeep-(pg|mysql|dolt|doltgres)-drill-/;
  const dirs = readdirSync(scratchRoot).filter((name) => scratch.test(name));
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  const processes = ps.split('\n').filter((line) => line.includes(scratchRoot) && scratch.test(line));
  return { dirs, processes };
}

export function failedOn(result: DrillResult, what: string) {
  return result.compared.filter((comparison) => comparison.what === what && !comparison.ok);
}
