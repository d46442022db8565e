/**
 * Retention: which of one target's backups to keep and which to delete. Pure: the caller passes `now` and
 * the time zone, lists only the target's own completed backups (those carrying Safekeep's tags for that
 * target), and does not prune at all after a failed backup of that target.
 *
 * Semantics (restic's `forget`, plus a floor):
 * 1. Order: newest first by createdAt; equal times by id in code-unit order, the larger id counting as newer.
 *    Names never order backups (ids and names need not sort like times).
 * 2. No policy keeps everything.
 * 3. Selection = the newest `keepLast` ∪ the GFS picks. A tier of N keeps the newest backup of each of the N
 *    most recent periods that have a backup (not the last N calendar periods before `now`), periods taken in
 *    `timeZone`: daily = local date, weekly = ISO week (Monday start, ISO week-year), monthly, yearly.
 *    Without keepLast and without a tier above 0 (only maxAgeDays, or `gfs: {}`), everything is selected:
 *    an empty rule must never read as "delete everything".
 * 4. maxAgeDays then drops every backup older than `now` − maxAgeDays × 24 h. Inclusive: a backup exactly
 *    maxAgeDays old stays. A day is 24 hours; DST does not stretch it.
 * 5. The floor: the newest `minimum` backups are always kept, whatever 3 and 4 said.
 *
 * Every rule is hereditary (a backup kept from a set is kept from any subset holding it, and from the same
 * set at an earlier `now`), so pruning after every run ends with the same set as deciding once at the end.
 */

export interface GfsPolicy {
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
}

export interface RetentionPolicy {
  readonly keepLast?: number;
  readonly maxAgeDays?: number;
  readonly gfs?: GfsPolicy;
  /** The floor: never keep fewer than this many backups. */
  readonly minimum: number;
}

export interface Backup {
  readonly id: string;
  readonly createdAt: Date;
}

export interface RetentionDecision<T extends Backup> {
  /** Newest first, each with every rule that keeps it. */
  readonly keep: readonly { readonly backup: T; readonly reasons: readonly string[] }[];
  /** Newest first, each with the one rule that removes it. */
  readonly remove: readonly { readonly backup: T; readonly reason: string }[];
}

const DAY_MS = 86_400_000;
const TIERS = ['daily', 'weekly', 'monthly', 'yearly'] as const;
type Tier = (typeof TIERS)[number];

interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

export function decideRetention<T extends Backup>(
  backups: readonly T[],
  policy: RetentionPolicy | undefined,
  now: Date,
  timeZone: string,
): RetentionDecision<T> {
  const localDateOf = localDateIn(timeZone);
  assertValidDate(now, 'now');
  const ordered = newestFirst(backups);
  if (policy === undefined) return { keep: ordered.map((backup) => ({ backup, reasons: ['no retention policy'] })), remove: [] };
  assertValidPolicy(policy);

  const selected = selectionReasons(ordered, policy, localDateOf);
  const cutoff = policy.maxAgeDays === undefined ? undefined : now.getTime() - policy.maxAgeDays * DAY_MS;
  const keep: { backup: T; reasons: string[] }[] = [];
  const remove: { backup: T; reason: string }[] = [];
  ordered.forEach((backup, index) => {
    const isOld = cutoff !== undefined && backup.createdAt.getTime() < cutoff;
    const ruleReasons = isOld ? [] : (selected[index] ?? []);
    const reasons = index < policy.minimum ? [...ruleReasons, 'floor'] : ruleReasons;
    if (reasons.length > 0) keep.push({ backup, reasons });
    else remove.push({ backup, reason: isOld ? `older than ${policy.maxAgeDays} days` : unselectedReason(policy) });
  });
  return { keep, remove };
}

/** What a printed plan names: a backup, or one snapshot of it (whose creation time the listing may lack). */
export interface PlannedBackup {
  readonly id: string;
  readonly createdAt?: Date;
}

/** A RetentionDecision, or the same decision spread over the snapshots each backup consists of. */
export interface RetentionPlan {
  readonly keep: readonly { readonly backup: PlannedBackup; readonly reasons: readonly string[] }[];
  readonly remove: readonly { readonly backup: PlannedBackup; readonly reason: string }[];
}

/**
 * The plan as `safekeep prune` prints it: the kept backups, then the removed ones, each in the plan's order
 * (newest first from decideRetention), then the counts:
 * `keep          <id>  <createdAt ISO>  <reasons>`, `would delete  <id>  <createdAt ISO>  <reason>`
 * (`deleted` once applied) and `<subject>: <n> kept, <m> would delete`.
 */
export function formatRetentionPlan(plan: RetentionPlan, options: { subject: string; dryRun: boolean }): string[] {
  const removal = options.dryRun ? 'would delete' : 'deleted';
  const line = (action: string, backup: PlannedBackup, why: string) =>
    `${action.padEnd(13)} ${backup.id}  ${String(backup.createdAt?.toISOString())}  ${why}`;
  return [
    ...plan.keep.map(({ backup, reasons }) => line('keep', backup, reasons.join(', '))),
    ...plan.remove.map(({ backup, reason }) => line(removal, backup, reason)),
    `${options.subject}: ${plan.keep.length} kept, ${plan.remove.length} ${removal}`,
  ];
}

function newestFirst<T extends Backup>(backups: readonly T[]): T[] {
  const ids = new Set<string>();
  for (const backup of backups) {
    assertValidDate(backup.createdAt, `createdAt of backup "${backup.id}"`);
    // A listing that repeats an id (a paging bug) must stop the prune, not decide twice about one backup.
    if (ids.has(backup.id)) throw new RangeError(`backup "${backup.id}" is listed twice; list each backup once`);
    ids.add(backup.id);
  }
  return [...backups].sort(compareNewestFirst);
}

function compareNewestFirst(a: Backup, b: Backup): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Index-aligned with `ordered`: the keep-last and GFS reasons of each backup, before age and floor. */
function selectionReasons(
  ordered: readonly Backup[],
  policy: RetentionPolicy,
  localDateOf: (instant: Date) => LocalDate,
): string[][] {
  const tiers = activeTiers(policy);
  if (policy.keepLast === undefined && tiers.length === 0) {
    const why = policy.maxAgeDays === undefined ? 'no keep-last, GFS or max-age rule' : `within ${policy.maxAgeDays} days`;
    return ordered.map(() => [why]);
  }
  const reasons = ordered.map((_, index): string[] => (index < (policy.keepLast ?? 0) ? ['keep-last'] : []));
  const localDates = tiers.length === 0 ? [] : ordered.map((backup) => localDateOf(backup.createdAt));
  for (const [tier, count] of tiers) {
    const periods = localDates.map(PERIOD_KEY[tier]);
    for (const [index, period] of newestPerPeriod(periods, count)) reasons[index]?.push(`${tier} ${period}`);
  }
  return reasons;
}

function activeTiers(policy: RetentionPolicy): [Tier, number][] {
  return TIERS.flatMap((tier): [Tier, number][] => {
    const count = policy.gfs?.[tier] ?? 0;
    return count > 0 ? [[tier, count]] : [];
  });
}

/** `periods` are newest first, so the first index seen for a period is that period's newest backup. */
function newestPerPeriod(periods: readonly string[], count: number): Map<number, string> {
  const picks = new Map<number, string>();
  const seen = new Set<string>();
  periods.forEach((period, index) => {
    if (seen.has(period) || seen.size >= count) return;
    seen.add(period);
    picks.set(index, period);
  });
  return picks;
}

function unselectedReason(policy: RetentionPolicy): string {
  const missed = [
    ...(policy.keepLast === undefined ? [] : [`beyond keep-last ${policy.keepLast}`]),
    ...(activeTiers(policy).length === 0 ? [] : ['in no GFS tier']),
  ];
  return missed.join(' and ');
}

const PERIOD_KEY: Record<Tier, (date: LocalDate) => string> = {
  daily: ({ year, month, day }) => `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`,
  weekly: (date) => {
    const { weekYear, week } = isoWeek(date);
    return `${pad(weekYear, 4)}-W${pad(week, 2)}`;
  },
  monthly: ({ year, month }) => `${pad(year, 4)}-${pad(month, 2)}`,
  yearly: ({ year }) => pad(year, 4),
};

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** ISO 8601: weeks start on Monday and belong to the year that holds their Thursday. */
function isoWeek({ year, month, day }: LocalDate): { weekYear: number; week: number } {
  const date = utcMidnight(year, month, day);
  const mondayBased = (new Date(date).getUTCDay() + 6) % 7;
  const thursday = date + (3 - mondayBased) * DAY_MS;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - utcMidnight(weekYear, 1, 1)) / (7 * DAY_MS)) + 1;
  return { weekYear, week };
}

function utcMidnight(year: number, month: number, day: number): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

// Building a DateTimeFormat costs far more than using one; a process sees only a handful of zones.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Returns the local calendar date of an instant in `timeZone`; throws RangeError for an unknown zone. */
function localDateIn(timeZone: string): (instant: Date) => LocalDate {
  const formatter = formatters.get(timeZone) ?? createFormatter(timeZone);
  return (instant) => {
    const parts = formatter.formatToParts(instant);
    const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return { year: part('year'), month: part('month'), day: part('day') };
  };
}

function createFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
  } catch {
    throw new RangeError(`unknown time zone "${timeZone}": use an IANA name such as "Etc/UTC" or "Europe/Berlin"`);
  }
  formatters.set(timeZone, formatter);
  return formatter;
}

function assertValidDate(date: Date, what: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError(`${what} is not a valid date`);
}

/** The schema already guarantees these; a NaN here would otherwise read as "keep nothing". */
function assertValidPolicy(policy: RetentionPolicy): void {
  assertCount('keepLast', policy.keepLast, 1);
  assertCount('maxAgeDays', policy.maxAgeDays, 1);
  assertCount('minimum', policy.minimum, 1);
  for (const tier of TIERS) assertCount(`gfs.${tier}`, policy.gfs?.[tier], 0);
}

function assertCount(field: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new RangeError(`retention ${field} must be an integer of at least ${min}, got ${value}`);
  }
}
