/**
 * EventBridge Scheduler expressions: `cron(min hour dom month dow year)` and `rate(n unit)`.
 *
 * We validate them ourselves because Scheduler only rejects a bad expression at deploy time, after
 * CloudFormation has already started; a config error must stop `cdk synth` instead. Validating is parsing:
 * a valid cron comes back as what its fields select (`cron-grammar.ts`), which is all the interval needs.
 * Grammar: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 */

import { CRON_FIELDS, type CronField, type ParsedCron } from './cron-grammar.ts';

export type ScheduleExpression =
  | { readonly type: 'cron'; readonly cron: ParsedCron }
  | { readonly type: 'rate'; readonly value: number; readonly unit: 'minute' | 'hour' | 'day' };

/** Thrown with a message that says what is allowed; the config formatter adds where and what was given. */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

const CRON_EXAMPLE = 'e.g. cron(0 3 * * ? *) for 03:00 every day';
const RATE_EXAMPLE = 'e.g. rate(6 hours)';

export function parseScheduleExpression(expression: string): ScheduleExpression {
  const trimmed = expression.trim();
  const cron = /^cron\((.*)\)$/s.exec(trimmed);
  if (cron) return { type: 'cron', cron: parseCron(cron[1] ?? '') };
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

function parseCron(body: string): ParsedCron {
  const parts = body.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}; ${CRON_EXAMPLE}`,
    );
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = parts as [string, string, string, string, string, string];
  // Field by field in order, so the first bad field is the one reported.
  const parsed = {
    minutes: parseField(minutes, CRON_FIELDS.minutes),
    hours: parseField(hours, CRON_FIELDS.hours),
    dayOfMonth: parseField(dayOfMonth, CRON_FIELDS.dayOfMonth),
    months: parseField(month, CRON_FIELDS.month),
    dayOfWeek: parseField(dayOfWeek, CRON_FIELDS.dayOfWeek),
    years: parseField(year, CRON_FIELDS.year),
  };
  // Scheduler's rule: exactly one of day-of-month and day-of-week is '?'; the other one says which days.
  const days = parsed.dayOfWeek === '?' ? parsed.dayOfMonth : parsed.dayOfMonth === '?' ? parsed.dayOfWeek : '?';
  if (days === '?') {
    throw new ScheduleExpressionError(
      `exactly one of day-of-month and day-of-week must be '?' (got "${dayOfMonth}" and "${dayOfWeek}"); ${CRON_EXAMPLE}`,
    );
  }
  return { minutes: parsed.minutes, hours: parsed.hours, days, months: parsed.months, years: parsed.years };
}

function parseField<T>(text: string, field: CronField<T>): T {
  const parsed = field.parse(text);
  if (parsed !== undefined) return parsed;
  const names = field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : '';
  throw new ScheduleExpressionError(
    `cron ${field.label} field "${text.toUpperCase()}" is invalid: use ${field.min}-${field.max}${names} with , - * /${field.dayForms ? ' (and ? L W # where AWS allows)' : ''}`,
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
