/**
 * EventBridge Scheduler expressions: `cron(min hour dom month dow year)` and `rate(n unit)`.
 *
 * We validate them ourselves because Scheduler only rejects a bad expression at deploy time, after
 * CloudFormation has already started; a config error must stop `cdk synth` instead.
 * Grammar: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 */

export type ScheduleExpression =
  | { readonly type: 'cron'; readonly fields: CronFields }
  | { readonly type: 'rate'; readonly value: number; readonly unit: 'minute' | 'hour' | 'day' };

export interface CronFields {
  readonly minutes: string;
  readonly hours: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
  readonly year: string;
}

/** Thrown with a message that says what is allowed; the config formatter adds where and what was given. */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

const CRON_EXAMPLE = 'e.g. cron(0 3 * * ? *) for 03:00 every day';
const RATE_EXAMPLE = 'e.g. rate(6 hours)';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Extra single-token forms a field accepts besides numbers, ranges, lists and steps. */
  readonly special?: RegExp;
}

const FIELD_SPECS: Record<keyof CronFields, FieldSpec> = {
  minutes: { label: 'minutes', min: 0, max: 59 },
  hours: { label: 'hours', min: 0, max: 23 },
  dayOfMonth: { label: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|L-\d{1,2}|\d{1,2}W)$/ },
  month: { label: 'month', min: 1, max: 12, names: MONTHS },
  dayOfWeek: {
    label: 'day-of-week',
    min: 1,
    max: 7,
    names: WEEKDAYS,
    special: /^(\?|L|[1-7]L|[A-Z]{3}L|[1-7]#[1-5]|[A-Z]{3}#[1-5])$/,
  },
  year: { label: 'year', min: 1970, max: 2199 },
};

export function parseScheduleExpression(expression: string): ScheduleExpression {
  const trimmed = expression.trim();
  const cron = /^cron\((.*)\)$/s.exec(trimmed);
  if (cron) return { type: 'cron', fields: parseCron(cron[1] ?? '') };
  const rate = /^rate\((.*)\)$/s.exec(trimmed);
  if (rate) return parseRate(rate[1] ?? '');
  if (/^at\(/.test(trimmed)) {
    throw new ScheduleExpressionError(`one-time at(...) schedules are not backups; use cron(...) or rate(...), ${CRON_EXAMPLE}`);
  }
  throw new ScheduleExpressionError(`expected cron(...) or rate(...), ${CRON_EXAMPLE} or ${RATE_EXAMPLE}`);
}

function parseRate(body: string): ScheduleExpression {
  const match = /^\s*(\d+)\s+([a-z]+)\s*$/.exec(body);
  if (!match) throw new ScheduleExpressionError(`rate needs "<positive integer> <unit>", ${RATE_EXAMPLE}`);
  const value = Number(match[1]);
  const word = match[2] ?? '';
  const unit = word.replace(/s$/, '');
  if (unit !== 'minute' && unit !== 'hour' && unit !== 'day') {
    throw new ScheduleExpressionError(`rate unit must be minute(s), hour(s) or day(s), ${RATE_EXAMPLE}`);
  }
  if (value < 1) throw new ScheduleExpressionError(`rate value must be at least 1, ${RATE_EXAMPLE}`);
  // Scheduler insists on "1 hour" but "2 hours".
  const expected = value === 1 ? unit : `${unit}s`;
  if (word !== expected) throw new ScheduleExpressionError(`write rate(${value} ${expected}): singular unit for 1, plural above`);
  return { type: 'rate', value, unit };
}

function parseCron(body: string): CronFields {
  const parts = body.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}; ${CRON_EXAMPLE}`,
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = parts as [string, string, string, string, string, string];
  const fields: CronFields = { minutes, hours, dayOfMonth, month, dayOfWeek, year };
  for (const key of Object.keys(FIELD_SPECS) as (keyof CronFields)[]) {
    checkField(fields[key].toUpperCase(), FIELD_SPECS[key]);
  }
  // Scheduler's rule: exactly one of day-of-month and day-of-week is '?'.
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new ScheduleExpressionError(
      `exactly one of day-of-month and day-of-week must be '?' (got "${dayOfMonth}" and "${dayOfWeek}"); ${CRON_EXAMPLE}`,
    );
  }
  return fields;
}

function checkField(value: string, spec: FieldSpec): void {
  if (spec.special?.test(value)) return;
  for (const item of value.split(',')) {
    const [range = '', step, extra] = item.split('/');
    if (extra !== undefined || range === '') throw fieldError(value, spec);
    if (step !== undefined && !/^\d+$/.test(step)) throw fieldError(value, spec);
    if (step !== undefined && (Number(step) < 1 || Number(step) > spec.max)) throw fieldError(value, spec);
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) throw fieldError(value, spec);
    const numbers = bounds.map((bound) => toNumber(bound, spec));
    if (numbers.some((n) => n === undefined)) throw fieldError(value, spec);
  }
}

function toNumber(token: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  const index = spec.names?.indexOf(token) ?? -1;
  return index >= 0 ? index + 1 : undefined;
}

function fieldError(value: string, spec: FieldSpec): ScheduleExpressionError {
  const names = spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : '';
  return new ScheduleExpressionError(
    `cron ${spec.label} field "${value}" is invalid: use ${spec.min}-${spec.max}${names} with , - * /${spec.special ? ' (and ? L W # where AWS allows)' : ''}`,
  );
}

/** Whether `zone` is an IANA time zone name Scheduler accepts (not an offset such as +02:00). */
export function isIanaTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
