import { MANIFEST_FILE } from '../../contracts/artifact-layout.ts';
import { loadManifest } from '../../contracts/manifest.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { required } from '../flags.ts';
import { formatBytes } from '../output.ts';

const LIST_FLAGS = {
  bucket: { type: 'string', required: true, placeholder: 'BUCKET', description: 'the bucket holding the backups' },
  target: { type: 'string', placeholder: 'NAME', description: "only this target's backups" },
} as const satisfies FlagDefinitions;

export const listCommand = defineCommand({
  name: 'list',
  summary: 'list the backups in a bucket',
  flags: LIST_FLAGS,
  examples: ['safekeep list --bucket my-backups', 'safekeep list --bucket my-backups --target bytebase-meta --json'],
  run: list,
});

/** Lists backups, i.e. manifests: objects without a manifest are never backups. */
async function list({ values }: ParsedArgs<typeof LIST_FLAGS>, context: CliContext): Promise<number> {
  const bucket = required(values.bucket, '--bucket', 'my-backups');
  const store = context.openStore(bucket, values['endpoint-url']);
  const backups = [];
  for await (const object of store.list(values.target ? `${values.target}/` : '')) {
    if (!object.key.endsWith(`/${MANIFEST_FILE}`)) continue;
    const { manifest } = await loadManifest(store, object.key);
    backups.push({
      url: `s3://${bucket}/${object.key}`,
      target: manifest.target,
      engine: manifest.engine,
      runId: manifest.runId,
      finishedAt: manifest.finishedAt,
      retentionTier: manifest.retentionTier,
      databases: manifest.source.databases,
      storedBytes: manifest.totals.storedBytes,
    });
  }
  backups.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, backups })}\n`);
    return 0;
  }
  if (backups.length === 0) context.terminal.stdout.write(`no backups in s3://${bucket}/${values.target ?? ''}\n`);
  for (const b of backups) {
    context.terminal.stdout.write(
      `${b.finishedAt}  ${b.target.padEnd(20)} ${b.engine.padEnd(9)} ${b.retentionTier.padEnd(8)} ${formatBytes(b.storedBytes).padStart(10)}  ${b.url}\n`,
    );
  }
  return 0;
}
