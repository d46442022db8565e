import { MANIFEST_FILE, WRITERS_PREFIX } from '../../contracts/artifact-layout.ts';
import { type LoadedManifest, loadManifest } from '../../contracts/manifest.ts';
import { listRecoverableBackups } from '../../dumps/prune.ts';
import { defineCommand, type FlagDefinitions, type ParsedArgs } from '../command.ts';
import type { CliContext } from '../context.ts';
import { required } from '../flags.ts';
import { formatBytes } from '../output.ts';

const LIST_FLAGS = {
  bucket: { type: 'string', required: true, placeholder: 'BUCKET', description: 'the bucket holding the backups' },
  target: { type: 'string', placeholder: 'NAME', description: "only this target's backups" },
  all: {
    type: 'boolean',
    default: false,
    description: 'also pruned backups that are still recoverable (restore one with --from <manifest> --version-id <id>)',
  },
} as const satisfies FlagDefinitions;

export const listCommand = defineCommand({
  name: 'list',
  summary: 'list the backups in a bucket',
  flags: LIST_FLAGS,
  examples: [
    'safekeep list --bucket my-backups',
    'safekeep list --bucket my-backups --target bytebase-meta --json',
    'safekeep list --bucket my-backups --target bytebase-meta --all',
  ],
  run: list,
});

/**
 * Lists backups, i.e. manifests: objects without a manifest are never backups. With --all, also the pruned
 * ones (a delete marker over the manifest) whose versions the bucket still keeps.
 */
async function list({ values }: ParsedArgs<typeof LIST_FLAGS>, context: CliContext): Promise<number> {
  const bucket = required(values.bucket, '--bucket', 'my-backups');
  const store = context.openStore(bucket, values['endpoint-url']);
  const prefix = values.target ? `${values.target}/` : '';
  const backups = [];
  for await (const object of store.list(prefix)) {
    if (!object.key.endsWith(`/${MANIFEST_FILE}`) || object.key.startsWith(`${WRITERS_PREFIX}/`)) continue;
    backups.push(describe(await loadManifest(store, object.key)));
  }
  if (values.all) {
    for (const pruned of await listRecoverableBackups(store, prefix)) {
      if (pruned.manifestKey.startsWith(`${WRITERS_PREFIX}/`)) continue;
      backups.push(describe(await loadManifest(store, pruned.manifestKey, pruned.versionId)));
    }
  }
  backups.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  if (values.json) {
    context.terminal.stdout.write(`${JSON.stringify({ ok: true, backups })}\n`);
    return 0;
  }
  if (backups.length === 0) context.terminal.stdout.write(`no backups in s3://${bucket}/${prefix}\n`);
  for (const b of backups) {
    const pruned = b.versionId ? `  (pruned; restore with --version-id ${b.versionId})` : '';
    context.terminal.stdout.write(
      `${b.finishedAt}  ${b.target.padEnd(20)} ${b.engine.padEnd(9)} ${formatBytes(b.storedBytes).padStart(10)}  ${b.url}${pruned}\n`,
    );
  }
  return 0;
}

/** One listed backup; a pruned one carries the manifest version it is restored from. */
function describe({ manifest, bucket, key, versionId }: LoadedManifest) {
  return {
    url: `s3://${bucket}/${key}`,
    target: manifest.target,
    engine: manifest.engine,
    runId: manifest.runId,
    finishedAt: manifest.finishedAt,
    databases: manifest.source.databases,
    storedBytes: manifest.totals.storedBytes,
    ...(versionId ? { pruned: true, versionId } : {}),
  };
}
