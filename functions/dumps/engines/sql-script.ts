/**
 * Small SQL scripts we write ourselves (users and grants, branch control): one statement per line, a title
 * comment first and a marker line last, so a script cut short is never stored and a restore can replay it
 * statement by statement over the same connection library that wrote it.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '../../contracts/telemetry.ts';
import { TailMarkerCheck } from '../commit/completeness.ts';

export interface ScriptKind {
  /** For messages: "users and grants". */
  readonly what: string;
  readonly endLine: string;
  readonly end: RegExp;
}

function scriptKind(what: string): ScriptKind {
  const endLine = `-- Safekeep ${what} complete`;
  return { what, endLine, end: new RegExp(`${endLine}\\s*$`) };
}

export const GRANTS_SCRIPT = scriptKind('users and grants');
export const BRANCH_CONTROL_SCRIPT = scriptKind('branch control');

/**
 * The script's text; `statements` must not contain newlines (callers escape them in literals). One that starts
 * with `--` is a comment (a note on something left out) and gets no semicolon.
 */
export async function* sqlScript(kind: ScriptKind, title: string, statements: () => Promise<string[]>): AsyncIterable<string> {
  yield `-- ${title}\n`;
  for (const statement of await statements()) yield statement.startsWith('--') ? `${statement}\n` : `${statement};\n`;
  yield `${kind.endLine}\n`;
}

export const scriptCompleteness = (kind: ScriptKind) => new TailMarkerCheck(kind.end, `the end of the ${kind.what}`);

/**
 * Runs every statement of a stored script. A statement the server refuses (an account that exists with other
 * settings, a grant on a database this server lacks) is reported and skipped, as `mysql --force` would.
 */
export async function replayScript(
  kind: ScriptKind,
  script: Readable,
  execute: (statement: string) => Promise<unknown>,
  log: Logger,
): Promise<{ applied: number; refused: number }> {
  let applied = 0;
  let refused = 0;
  for await (const line of lines(script)) {
    const statement = line.trim().replace(/;$/, '');
    if (statement === '' || statement.startsWith('--')) continue;
    try {
      await execute(statement);
      applied++;
    } catch (error) {
      refused++;
      log.warn(`the server refused a statement of the ${kind.what}; skipped it`, {
        // Never the password hash of a CREATE USER.
        statement: statement.replace(/ IDENTIFIED .*/i, ' IDENTIFIED ...').slice(0, 200),
        error: (error as Error).message,
      });
    }
  }
  return { applied, refused };
}

/** The stream's lines; a stream error (a failed SHA-256 check) ends the loop with that error. */
async function* lines(stream: Readable): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8'); // a character may straddle two chunks
  let rest = '';
  for await (const chunk of stream) {
    const parts = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = parts.pop() ?? '';
    yield* parts;
  }
  rest += decoder.end();
  if (rest) yield rest;
}
