/** Reading flag values every command shares: durations and required flags. */
import { UsageError } from '../contracts/errors.ts';

/** `30m`, `4h`, `90s` or plain seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be a duration such as 90s, 30m or 4h, got "${text}"`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] ?? 1000;
  return value * factor;
}

export function required(value: string | undefined, flag: string, example: string): string {
  if (!value) throw new UsageError(`${flag} is required, e.g. ${flag} ${example}`);
  return value;
}
