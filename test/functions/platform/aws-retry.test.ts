import { describe, expect, it } from 'vitest';
import { isThrottling, retryThrottled, withThrottleRetries } from '#functions/platform/aws-retry.ts';

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });

describe('retryThrottled', () => {
  it('retries throttled calls with growing, jittered waits until they succeed', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryThrottled(
      'DescribeThings',
      async () => {
        calls++;
        if (calls < 4) throw throttled();
        return 'ok';
      },
      { sleep: async (ms) => void waits.push(ms), random: () => 0.5, baseMs: 100 },
    );
    expect(result).toBe('ok');
    expect(waits).toEqual([50, 100, 200]);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      retryThrottled('x', async () => {
        calls++;
        throw new Error('AccessDenied');
      }),
    ).rejects.toThrow('AccessDenied');
    expect(calls).toBe(1);
  });

  it('gives up after the bound, with the last error', async () => {
    await expect(
      retryThrottled('x', async () => Promise.reject(throttled()), { attempts: 3, sleep: async () => {} }),
    ).rejects.toThrow('Rate exceeded');
  });

  it('recognises every service spelling of "slow down"', () => {
    for (const name of ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']) {
      expect(isThrottling(Object.assign(new Error(), { name }))).toBe(true);
    }
    expect(isThrottling(new Error('x'))).toBe(false);
  });

  it('wraps every method of a port', async () => {
    let calls = 0;
    const retries: string[] = [];
    const port = withThrottleRetries(
      {
        async snapshot() {
          calls++;
          if (calls === 1) throw throttled();
          return 'taken';
        },
      },
      { sleep: async () => {}, onRetry: (operation) => retries.push(operation) },
    );
    expect(await port.snapshot()).toBe('taken');
    expect(retries).toEqual(['snapshot']);
  });
});
