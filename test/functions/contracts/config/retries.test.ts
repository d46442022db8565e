import { describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';

const withRetries = (retries?: unknown) => ({
  defaults: { schedule: { expression: 'rate(1 day)' } },
  targets: [{ name: 'orders', kind: 'rds-instance', source: { instanceId: 'orders-db' }, ...(retries ? { retries } : {}) }],
});

describe('retries', () => {
  it('defaults to 2 attempts 10 minutes apart, fills a partial setting, and takes 1 as no retry', () => {
    expect(parseConfig(withRetries(), 'c').targets[0]?.retries).toEqual({ attempts: 2, backoffMinutes: 10 });
    expect(parseConfig(withRetries({ backoffMinutes: 30 }), 'c').targets[0]?.retries).toEqual({
      attempts: 2,
      backoffMinutes: 30,
    });
    expect(parseConfig(withRetries({ attempts: 1 }), 'c').targets[0]?.retries).toEqual({ attempts: 1, backoffMinutes: 10 });
  });

  it('refuses what makes no sense, saying what is allowed', () => {
    expect(() => parseConfig(withRetries({ attempts: 0 }), 'c')).toThrow(
      'target "orders" (targets[0]) field retries.attempts: got 0; must be at least 1 (1 = no retry)',
    );
    expect(() => parseConfig(withRetries({ attempts: 9 }), 'c')).toThrow(/retries.attempts: got 9; must be at most 5/);
    expect(() => parseConfig(withRetries({ backoffMinutes: 0 }), 'c')).toThrow(
      /retries.backoffMinutes: got 0; must be at least 1 minute/,
    );
    expect(() => parseConfig(withRetries({ tries: 3 }), 'c')).toThrow(/retries.tries: unknown field/);
  });
});
