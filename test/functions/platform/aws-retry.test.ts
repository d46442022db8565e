/**
 * The retry strategy, first on its own (the decisions it hands the SDK's retry middleware), then inside a
 * real RDS client talking to moto through a proxy that answers chosen calls with RDS's real throttling error.
 */
import { DescribeDBInstancesCommand, paginateDescribeDBInstances, RDSClient } from '@aws-sdk/client-rds';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryErrorType } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isThrottling, type ThrottleRetry, throttleTolerantRetryStrategy } from '#functions/platform/aws-retry.ts';
import { MOTO_CREDENTIALS } from '#test/support/aws.ts';
import { startAwsProxy } from '#test/support/aws-proxy.ts';
import { peer } from '#test/support/peers.ts';
import { createInstances } from '#test/support/snapshots.ts';

type SdkError = NonNullable<RetryErrorInfo['error']>;
const sdkError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } }) as SdkError;
const throttled = (): RetryErrorInfo => ({ error: sdkError('Throttling', 400), errorType: 'THROTTLING' });
const failure = (name: string, errorType: RetryErrorType, status: number): RetryErrorInfo => ({
  error: sdkError(name, status),
  errorType,
});

describe('throttleTolerantRetryStrategy', () => {
  it('retries a throttled request with growing, fully jittered waits', async () => {
    // Prepare
    const retries: ThrottleRetry[] = [];
    const strategy = throttleTolerantRetryStrategy({ baseMs: 100, random: () => 0.5, onThrottleRetry: (r) => retries.push(r) });

    // Act
    let token = await strategy.acquireInitialRetryToken('');
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, throttled());
      waits.push(token.getRetryDelay());
    }

    // Assess
    expect(waits).toEqual([50, 100, 200, 400]);
    expect(token.getRetryCount()).toBe(4);
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('caps each wait, and gives up after the bound so the request fails with its throttling error', async () => {
    // Prepare
    const strategy = throttleTolerantRetryStrategy({ throttleAttempts: 12, random: () => 0.999 });

    // Act
    let token = await strategy.acquireInitialRetryToken('');
    const waits: number[] = [];
    for (let i = 1; i < 12; i++) {
      token = await strategy.refreshRetryTokenForRetry(token, throttled());
      waits.push(token.getRetryDelay());
    }

    // Assess
    expect(Math.max(...waits)).toBeLessThan(20_000);
    expect(waits.at(-1)).toBe(19_980);
    await expect(strategy.refreshRetryTokenForRetry(token, throttled())).rejects.toThrow('still throttled after 12 attempts');
  });

  it("rides out a storm longer than the standard retry quota, which the SDK's own strategies give up on", async () => {
    // Prepare: 200 requests throttled 3 times each = 600 retries; the standard quota (500, 5 a retry) allows 100.
    const storm = async (strategy: ReturnType<typeof throttleTolerantRetryStrategy>) =>
      Promise.allSettled(
        Array.from({ length: 200 }, async () => {
          let token = await strategy.acquireInitialRetryToken('');
          for (let i = 0; i < 3; i++) token = await strategy.refreshRetryTokenForRetry(token, throttled());
        }),
      );
    // The SDK's ConfiguredRetryStrategy (here without backoff, to stay fast) is the standard one: same quota.
    const standard = new ConfiguredRetryStrategy(10, 0);

    // Act
    const ours = await storm(throttleTolerantRetryStrategy({ random: () => 0 }));
    const theirs = await storm(standard);

    // Assess
    expect(ours.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(theirs.filter((r) => r.status === 'rejected').length).toBeGreaterThan(100);
  });

  it('retries other transient errors only as often as the standard strategy would, and client errors never', async () => {
    // Prepare
    const strategy = throttleTolerantRetryStrategy({ maxAttempts: 3 });

    // Act
    let token = await strategy.acquireInitialRetryToken('');
    token = await strategy.refreshRetryTokenForRetry(token, failure('ServiceUnavailable', 'TRANSIENT', 503));
    token = await strategy.refreshRetryTokenForRetry(token, failure('ServiceUnavailable', 'TRANSIENT', 503));
    const third = strategy.refreshRetryTokenForRetry(token, failure('ServiceUnavailable', 'TRANSIENT', 503));
    const fresh = await strategy.acquireInitialRetryToken('');
    const denied = strategy.refreshRetryTokenForRetry(fresh, failure('AccessDenied', 'CLIENT_ERROR', 403));

    // Assess
    expect(token.getRetryCount()).toBe(2);
    await expect(third).rejects.toThrow();
    await expect(denied).rejects.toThrow();
  });

  it('recognises every service spelling of "slow down", and the SDK throttling trait', () => {
    for (const name of ['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown']) {
      expect(isThrottling(Object.assign(new Error(), { name }))).toBe(true);
    }
    expect(isThrottling(Object.assign(new Error(), { name: 'Whatever', $retryable: { throttling: true } }))).toBe(true);
    expect(isThrottling(new Error('x'))).toBe(false);
  });
});

const moto = await peer('moto');
// A region no other test uses: its instances are this test's alone (moto keeps them between runs).
const REGION = 'ap-southeast-3';

describe.skipIf(!moto)('an RDS client with the strategy, against moto behind a throttling proxy', () => {
  const motoPeer = moto as NonNullable<typeof moto>;
  const suffix = Date.now().toString(36);

  beforeAll(async () => {
    const rds = new RDSClient({ endpoint: motoPeer.endpoint, region: REGION, credentials: MOTO_CREDENTIALS });
    await createInstances(
      rds,
      Array.from({ length: 41 }, (_, i) => `retry-${suffix}-${i}`),
    );
  });

  /** A client through a proxy that throttles the calls `throttle` picks, and the Marker of every attempt it sent. */
  async function throttledClient(throttle: (request: number) => boolean, options = {}) {
    const proxy = await startAwsProxy(motoPeer.endpoint, { throttle });
    const retries: ThrottleRetry[] = [];
    const client = new RDSClient({
      endpoint: proxy.endpoint,
      region: REGION,
      credentials: MOTO_CREDENTIALS,
      retryStrategy: throttleTolerantRetryStrategy({ baseMs: 5, onThrottleRetry: (r) => retries.push(r), ...options }),
    });
    const attempts: (string | undefined)[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        // Below the retry middleware: runs once per attempt sent.
        const body = String((args.request as { body?: unknown }).body ?? '');
        attempts.push(new URLSearchParams(body).get('Marker') ?? undefined);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    afterAll(() => proxy.close());
    return { client, proxy, attempts, retries };
  }

  it('a throttle on page 2 of a listing retries page 2, not the listing from page 1', async () => {
    // Prepare
    const { client, proxy, attempts, retries } = await throttledClient((request) => request === 2);

    // Act
    const ids: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeDBInstances({ client, pageSize: 20 }, {})) {
      pages++;
      ids.push(...(page.DBInstances ?? []).map((i) => i.DBInstanceIdentifier ?? ''));
    }

    // Assess: page 1, page 2 (throttled), page 2 again, page 3 and on; never page 1 a second time.
    expect(ids.filter((id) => id.startsWith(`retry-${suffix}-`))).toHaveLength(41);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(proxy.stats).toMatchObject({ requests: pages + 1, throttled: 1 });
    expect(attempts).toHaveLength(pages + 1);
    expect(attempts[1]).toBeDefined();
    expect(attempts[2]).toBe(attempts[1]);
    expect(attempts.filter((marker) => marker === undefined)).toHaveLength(1);
    expect(retries).toHaveLength(1);
  });

  it('finishes every request of a storm that throttles far more calls than the standard quota allows', {
    timeout: 60_000,
  }, async () => {
    // Prepare: the first 300 calls are throttled; the standard quota stops after 100 throttled retries.
    // The per-request bound is raised: what is proven here is the quota, not the bound.
    const { client, proxy } = await throttledClient((request) => request <= 300, { throttleAttempts: 100, maxMs: 50 });

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () =>
        client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `retry-${suffix}-0` })),
      ),
    );

    // Assess
    expect(proxy.stats.throttled).toBe(300);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  });

  it('does not retry an error that is not throttling or transient', async () => {
    // Prepare
    const { client, proxy } = await throttledClient(() => false);

    // Act
    const call = client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: `retry-${suffix}-missing` }));

    // Assess
    await expect(call).rejects.toMatchObject({ name: expect.stringMatching(/^DBInstanceNotFound/) });
    expect(proxy.stats.requests).toBe(1);
  });
});
