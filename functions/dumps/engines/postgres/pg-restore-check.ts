/**
 * PostgreSQL's own completeness check for a custom-format archive: `pg_restore` reads the whole archive
 * (every data block, not just the table of contents) and prints it as SQL, which we only count. A
 * truncated or corrupt archive makes it fail. `verify` uses it as a second reading, independent of the
 * in-process PgArchiveCheck that checked the live dump stream.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { DumpError } from '../../../contracts/errors.ts';
import { spawnProducer } from '../../adapters/child-process.ts';
import type { CompletenessCheck, CompletenessReport } from '../../commit/completeness.ts';
import type { Producer } from '../../commit/producer.ts';
import { CopyRowCounter } from './copy-row-counter.ts';
import { pgToolPath } from './tools.ts';

export class PgRestoreCheck implements CompletenessCheck {
  private readonly input: PassThrough;
  private readonly reader: Producer;
  private readonly counter = new CopyRowCounter();
  private readonly consumed: Promise<void>;
  private readonly what: string;
  private failed: Error | undefined;

  constructor(what: string) {
    this.what = what;
    this.input = new PassThrough({ highWaterMark: 1024 * 1024 });
    const reader = spawnProducer(
      { command: pgToolPath('pg_restore'), args: ['--file=-'], description: `pg_restore reading ${what}` },
      this.input,
    );
    this.reader = reader;
    const counter = this.counter;
    this.consumed = (async () => {
      for await (const chunk of reader.stdout) counter.push(chunk as Buffer);
    })().catch((error: Error) => {
      this.failed = error;
    });
  }

  async update(chunk: Buffer): Promise<void> {
    if (this.input.write(chunk)) return;
    // pg_restore reads more slowly than we produce: wait, unless it died (then drain never comes).
    const died = this.reader.exited.then((exit) => {
      throw this.unreadable(exit.stderrTail || `exit code ${exit.code}`);
    });
    await Promise.race([once(this.input, 'drain'), died]);
  }

  async finish(): Promise<CompletenessReport> {
    this.input.end();
    const [exit] = await Promise.all([this.reader.exited, this.consumed]);
    if (this.failed) throw this.failed;
    if (exit.code !== 0) throw this.unreadable(exit.stderrTail || `exit code ${exit.code}`);
    return { rowCounts: this.counter.result() };
  }

  abort(): void {
    this.input.destroy();
    this.reader.kill();
  }

  private unreadable(reason: string): DumpError {
    return new DumpError(`the archive of ${this.what} is incomplete or unreadable (pg_restore: ${reason})`);
  }
}
