/**
 * What a PostgreSQL archive says about the database itself: encoding and locale, owner, `ALTER DATABASE ... SET`
 * settings, comment, security labels and privileges. pg_dump stores them, but pg_restore only emits them with
 * `--create`, which restores under the original name; we read them from `pg_restore --create --schema-only`
 * and replay them onto the database we restored into, whatever its name.
 */

/** The database-level entries of one archive, ready to apply to `target`. */
export interface DatabaseProperties {
  /** CREATE DATABASE options after TEMPLATE: `ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C'`. */
  readonly createOptions: string;
  /** Statements naming the source database (owner, settings, comment, labels, privileges), in archive order. */
  readonly statements: readonly string[];
}

const ENTRY_HEADER = /^-- Name: (.*); Type: (.*); Schema: .*; Owner: .*$/;
/** Entries about the database itself (the archive's other entries are the objects inside it). */
const isDatabaseEntry = (name: string, type: string) =>
  type === 'DATABASE' ||
  type === 'DATABASE PROPERTIES' ||
  (/^(COMMENT|ACL|SECURITY LABEL)$/.test(type) && name.startsWith('DATABASE '));
/** `KEYWORD = 'value'` or `KEYWORD = word`, repeated: all pg_dump writes after TEMPLATE, and nothing else. */
const CREATE_OPTIONS = /^(?:[A-Z_]+ = (?:'(?:[^']|'')*'|[A-Za-z0-9_]+)(?: |$))*$/;

/** The output of `pg_restore --create --schema-only --file=-`, reduced to the database's own entries. */
export function parseDatabaseProperties(sql: string): DatabaseProperties {
  let createOptions = '';
  const statements: string[] = [];
  let keep = false;
  let body: string[] = [];
  const flush = () => {
    const text = body.join('\n').trim();
    body = [];
    if (!keep || !text) return;
    for (const statement of splitStatements(text)) {
      const create = /^CREATE DATABASE .*? WITH TEMPLATE = template0 ?(.*);$/s.exec(statement);
      if (create) createOptions = (create[1] ?? '').trim();
      else statements.push(statement);
    }
  };
  for (const line of sql.split('\n')) {
    const header = ENTRY_HEADER.exec(line);
    if (header) {
      flush();
      keep = isDatabaseEntry(header[1] ?? '', header[2] ?? '');
      continue;
    }
    // psql meta-commands (\connect, \restrict) end an entry; the SET preamble after them belongs to none.
    if (line.startsWith('\\')) {
      flush();
      keep = false;
      continue;
    }
    if (keep) body.push(line);
  }
  flush();
  if (createOptions && !CREATE_OPTIONS.test(createOptions)) {
    throw new Error(`unexpected CREATE DATABASE options in the archive: ${createOptions}`);
  }
  return { createOptions, statements };
}

/**
 * Statements separated by `;` at the end of a line outside a string literal (a comment may hold `;` and
 * newlines).
 */
function splitStatements(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const line of text.split('\n')) {
    if (!current && (!line.trim() || line.startsWith('--'))) continue; // blank lines and comments between statements
    current = current ? `${current}\n${line}` : line;
    quoted = (line.match(/'/g)?.length ?? 0) % 2 === 1 ? !quoted : quoted;
    if (!quoted && line.trimEnd().endsWith(';')) {
      out.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/** How pg_dump writes an identifier: bare when it is plain lowercase, else double-quoted. */
function identifierForms(name: string): string[] {
  const quoted = `"${name.replaceAll('"', '""')}"`;
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? [quoted, name] : [quoted];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `statement` about database `source`, rewritten to be about `target` (an already quoted identifier). Only
 * the first `DATABASE <name>` is the database; a later one would be inside a comment's text.
 */
export function renameDatabase(statement: string, source: string, quotedTarget: string): string {
  const pattern = new RegExp(`DATABASE (?:${identifierForms(source).map(escapeRegExp).join('|')})(?=[\\s;])`);
  if (!pattern.test(statement)) throw new Error(`cannot find database ${source} in: ${statement.split('\n')[0]}`);
  return statement.replace(pattern, () => `DATABASE ${quotedTarget}`);
}
