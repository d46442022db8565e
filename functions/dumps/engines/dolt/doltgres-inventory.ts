/**
 * Every branch's objects of a Doltgres database, read over SQL: what `dolt_backup` must bring back beyond
 * refs and rows. Doltgres 0.56.3's backup (and push, clone) drops sequences, types and functions
 * (dolthub/doltgresql#2836), so a restore checks each branch against this inventory, and Safekeep carries
 * across what it can: sequences, recreated from information_schema with their next value. Enum labels,
 * function and trigger definitions are not shown over SQL in 0.56.3 (pg_enum, pg_proc, pg_trigger are
 * empty), so those cannot be carried: a dump fails on them unless they are explicitly allowed to be missing.
 */
import type { DoltgresInventory, MissingObject } from '../../../contracts/manifest.ts';
import type { DoltSession } from './session.ts';

type Sequence = DoltgresInventory['sequences'][number];

const USER_SCHEMAS = "NOT IN ('pg_catalog', 'information_schema', 'dolt')";
/** The database's first commit, the one without a parent (dates can tie: commits come milliseconds apart). */
const ROOT_COMMIT = "SELECT commit_hash FROM dolt_commit_ancestors WHERE parent_hash IS NULL OR parent_hash = '' LIMIT 1";

/** The inventory of one branch; `session` must be on that branch (database `db/branch`). */
export async function readInventory(session: DoltSession, branch: string): Promise<DoltgresInventory> {
  const tables = await session.rows<{ name: string }>(
    `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
      WHERE table_type = 'BASE TABLE' AND table_schema ${USER_SCHEMAS} ORDER BY 1`,
  );
  const views = await session.rows<{ name: string; definition: string }>(
    `SELECT table_schema || '.' || table_name AS name, view_definition AS definition FROM information_schema.views
      WHERE table_schema ${USER_SCHEMAS} ORDER BY 1`,
  );
  const sequenceRows = await session.rows<Record<string, string>>(
    `SELECT sequence_schema, sequence_name, data_type, start_value, increment, minimum_value, maximum_value, cycle_option
      FROM information_schema.sequences WHERE sequence_schema ${USER_SCHEMAS} ORDER BY sequence_schema, sequence_name`,
  );
  const sequences: Sequence[] = [];
  for (const row of sequenceRows) {
    const name = `${row.sequence_schema}.${row.sequence_name}`;
    sequences.push({
      name,
      dataType: String(row.data_type),
      start: String(row.start_value),
      increment: String(row.increment),
      minimum: String(row.minimum_value),
      maximum: String(row.maximum_value),
      cycle: row.cycle_option === 'YES',
      next: await nextValue(session, name),
    });
  }
  const typeRows = await session.rows<{ name: string; kind: string }>(
    `SELECT n.nspname || '.' || t.typname AS name, t.typtype AS kind FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname ${USER_SCHEMAS} ORDER BY 1`,
  );
  const typeNames = new Set(typeRows.map((row) => row.name));
  // Each type has an array type `_name` that goes and comes with it.
  const isArrayOfAnother = (name: string) => /\._/.test(name) && typeNames.has(name.replace(/\._/, '.'));
  const types = typeRows.filter((row) => !isArrayOfAnother(row.name));
  const known = new Set([...tables.map((t) => t.name), ...sequences.map((s) => s.name), ...typeNames, 'public.dolt_schemas']);
  // Functions and triggers appear nowhere but in Dolt's diff of the branch against its first commit: `public.add1(int4)`.
  const objects = await session.rows<{ name: string }>(
    `SELECT to_table_name AS name FROM dolt_diff_summary((${ROOT_COMMIT}), 'WORKING')
      WHERE diff_type <> 'removed' ORDER BY 1`,
  );
  const rest = objects.map((o) => o.name).filter((name) => !known.has(name));
  const functions = rest.filter((name) => name.includes('('));
  const onTable = (name: string) => tables.some((t) => name.startsWith(`${t.name}.`));
  const triggers = rest.filter((name) => !name.includes('(') && onTable(name));
  const others = rest.filter((name) => !name.includes('(') && !onTable(name));
  return {
    branch,
    tables: tables.map((t) => t.name),
    views: views.map((v) => ({ name: v.name, definition: v.definition })),
    sequences,
    types: types.map((t) => ({ name: t.name, kind: t.kind })),
    functions,
    triggers,
    others,
  };
}

/** nextval inside a transaction that is rolled back: Doltgres keeps sequences in the working set, so nothing moves. */
async function nextValue(session: DoltSession, name: string): Promise<string | null> {
  await session.rows('BEGIN');
  try {
    const [row] = await session.rows<{ next: string }>(`SELECT nextval(${literal(qualified(name))}) AS next`);
    return row ? String(row.next) : null;
  } catch {
    return null;
  } finally {
    await session.rows('ROLLBACK');
  }
}

/** What Safekeep cannot carry across when the engine's backup drops it. */
export function uncarriable(inventory: readonly DoltgresInventory[]): MissingObject[] {
  const out: MissingObject[] = [];
  for (const { branch, sequences, types, functions, triggers = [], others = [] } of inventory) {
    for (const s of sequences) {
      if (s.next === null)
        out.push({ branch, kind: 'sequence', name: s.name, reason: 'its next value cannot be read (exhausted)' });
    }
    for (const t of types) {
      out.push({ branch, kind: `type (${t.kind})`, name: t.name, reason: 'Doltgres shows no type definitions over SQL' });
    }
    for (const name of functions) {
      out.push({ branch, kind: 'function', name, reason: 'Doltgres shows no function definitions over SQL' });
    }
    for (const name of triggers) {
      out.push({ branch, kind: 'trigger', name, reason: 'Doltgres shows no trigger definitions over SQL' });
    }
    for (const name of others) {
      out.push({ branch, kind: 'object', name, reason: 'Safekeep does not know what it is, so it cannot carry it' });
    }
  }
  return out;
}

/** One line per object the restored branch lacks or holds differently, leaving out those recorded as missing. */
export function inventoryDifferences(
  expected: DoltgresInventory,
  actual: DoltgresInventory,
  missing: readonly MissingObject[],
): string[] {
  const skip = new Set(missing.filter((m) => m.branch === expected.branch).map((m) => m.name));
  const on = `on branch ${expected.branch}`;
  const out: string[] = [];
  const absent = (kind: string, want: readonly string[], have: readonly string[]) => {
    const found = new Set(have);
    for (const name of want) if (!skip.has(name) && !found.has(name)) out.push(`${kind} ${name} is missing ${on}`);
  };
  absent('table', expected.tables, actual.tables);
  absent(
    'type',
    expected.types.map((t) => t.name),
    actual.types.map((t) => t.name),
  );
  absent('function', expected.functions, actual.functions);
  absent('trigger', expected.triggers ?? [], actual.triggers ?? []);
  absent('object', expected.others ?? [], actual.others ?? []);
  const views = new Map(actual.views.map((v) => [v.name, v.definition]));
  for (const view of expected.views) {
    const got = views.get(view.name);
    if (got === undefined) out.push(`view ${view.name} is missing ${on}`);
    else if (got !== view.definition) out.push(`view ${view.name} has another definition ${on}`);
  }
  const sequences = new Map(actual.sequences.map((s) => [s.name, s]));
  for (const want of expected.sequences) {
    if (skip.has(want.name)) continue;
    const got = sequences.get(want.name);
    if (!got) out.push(`sequence ${want.name} is missing ${on}`);
    else if (got.next !== want.next) out.push(`sequence ${want.name} would return ${got.next} next, not ${want.next}, ${on}`);
  }
  return out;
}

/**
 * Recreates, in the working set of the session's branch, every sequence the engine's restore dropped, so
 * that nextval continues where the source was. Returns the names recreated.
 */
export async function carrySequences(
  session: DoltSession,
  expected: DoltgresInventory,
  actual: DoltgresInventory,
): Promise<string[]> {
  const present = new Set(actual.sequences.map((s) => s.name));
  const carried: string[] = [];
  for (const s of expected.sequences) {
    if (present.has(s.name) || s.next === null) continue;
    await session.rows(createSequence(s));
    carried.push(s.name);
  }
  return carried;
}

export function createSequence(s: Sequence): string {
  const number = (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new Error(`not an integer: ${value}`);
    return value;
  };
  const type = { bigint: 'bigint', integer: 'integer', smallint: 'smallint' }[s.dataType] ?? 'bigint';
  return [
    `CREATE SEQUENCE ${qualified(s.name)} AS ${type}`,
    `INCREMENT BY ${number(s.increment)} MINVALUE ${number(s.minimum)} MAXVALUE ${number(s.maximum)}`,
    `START WITH ${number(s.next ?? s.start)}${s.cycle ? ' CYCLE' : ''}`,
  ].join(' ');
}

/** `public.seq1` -> `"public"."seq1"`; names hold no dot of their own here (as information_schema gives them). */
function qualified(name: string): string {
  const dot = name.indexOf('.');
  return [name.slice(0, dot), name.slice(dot + 1)].map((part) => `"${part.replaceAll('"', '""')}"`).join('.');
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Opens a session on one branch of the restored database. */
export type BranchSession = <T>(branch: string, use: (session: DoltSession) => Promise<T>) => Promise<T>;

/**
 * After a restore (real or scratch) whose refs matched: carries the dropped sequences into each branch's
 * working set, then compares every branch with the manifest's inventory. Returns the sequences carried and
 * the differences, one line each (empty when the restore holds everything the backup recorded).
 */
export async function carryAndCompare(
  onBranch: BranchSession,
  inventory: readonly DoltgresInventory[],
  missing: readonly MissingObject[],
): Promise<{ carried: string[]; differences: string[] }> {
  const carried: string[] = [];
  const differences: string[] = [];
  for (const expected of inventory) {
    await onBranch(expected.branch, async (session) => {
      const restored = await readInventory(session, expected.branch);
      const recreated = await carrySequences(session, expected, restored);
      carried.push(...recreated.map((name) => `${expected.branch}:${name}`));
      const now = recreated.length > 0 ? await readInventory(session, expected.branch) : restored;
      differences.push(...inventoryDifferences(expected, now, missing));
    });
  }
  return { carried, differences };
}

/** `type (e) public.mood on main, function public.add1(int4) on main`, at most `limit` of them. */
export function describeMissing(missing: readonly MissingObject[], limit = 5): string {
  const named = missing.slice(0, limit).map((m) => `${m.kind} ${m.name} on ${m.branch}`);
  return missing.length > limit ? `${named.join(', ')} and ${missing.length - limit} more` : named.join(', ');
}

/**
 * Doltgres 0.56.3 and older lose sequences, types and functions in dolt_backup; the upstream fix
 * (dolthub/doltgresql#2836) came after it. A newer server is trusted, and still checked on every restore.
 */
export function backupDropsRootObjects(serverVersion: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(serverVersion.trim());
  if (!match) return true;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return major === 0 && (minor < 56 || (minor === 56 && patch <= 3));
}
