/**
 * What a drill found, as it finds it: every comparison (what the backup recorded against what the scratch
 * restore holds), the totals, and one line per failure, the first of which becomes the drill's message.
 */
import type { DrillComparison } from '../../contracts/drill.ts';

export class Findings {
  readonly compared: DrillComparison[] = [];
  readonly problems: string[] = [];
  readonly counts: Record<string, number> = {};

  /** Records a comparison; a failed one adds `problem` (or a line made from the comparison). */
  check(comparison: DrillComparison, problem?: string): boolean {
    this.compared.push(comparison);
    if (!comparison.ok) this.problems.push(problem ?? describe(comparison));
    return comparison.ok;
  }

  /** A failure that is not a comparison (the restore itself failed, a tool is missing). */
  fail(problem: string): void {
    this.problems.push(problem);
  }

  add(count: string, by: number): void {
    this.counts[count] = (this.counts[count] ?? 0) + by;
  }

  /** Compares `expected` and `found` per key (tables -> rows, kinds -> counts), one comparison each. */
  compareCounts(
    what: string,
    scope: string,
    expected: Readonly<Record<string, number>>,
    found: Readonly<Record<string, number>>,
  ): void {
    for (const [name, count] of Object.entries(expected)) {
      const got = found[name] ?? 0;
      this.check(
        { what, subject: `${scope}${name}`, expected: count, found: got, ok: got === count },
        `${what === 'rows' ? 'table' : what} ${scope}${name}: the backup recorded ${count}${what === 'rows' ? ' rows' : ''}, the restore holds ${got}`,
      );
    }
  }
}

function describe(comparison: DrillComparison): string {
  const subject = comparison.subject ? ` of ${comparison.subject}` : '';
  return `${comparison.what}${subject}: the backup recorded ${comparison.expected ?? 'it'}, the restore holds ${comparison.found ?? 'nothing'}`;
}
