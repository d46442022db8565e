/**
 * The SDK clients' retry strategy: the standard one, except that throttling never runs out of quota.
 * The standard strategy spends a per-client retry quota on every retry and stops retrying once a long
 * burst has drained it, so a fleet-wide run would fail in a long throttling storm. Here a throttled request
 * is retried outside that quota, with exponential backoff and full jitter, however long the storm lasts,
 * up to a bound; every other error is the standard strategy's to retry or not (its attempts, backoff and
 * quota). Configured per client, it works per request: a listing throttled on page N retries page N.
 */
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, RetryToken, StandardRetryToken } from '@smithy/types';

const THROTTLING_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

export function isThrottling(error: unknown): boolean {
  const candidate = error as { name?: string; $retryable?: { throttling?: boolean } };
  return THROTTLING_ERRORS.has(candidate?.name ?? '') || candidate?.$retryable?.throttling === true;
}

/** One retry of a throttled request, as told to `onThrottleRetry`. */
export interface ThrottleRetry {
  /** How many times this request has been throttled so far. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

export interface ThrottleRetryOptions {
  /**
   * Attempts of one request while it stays throttled, the first included.
   * @default 12 (at most about 105 s of waiting with the default backoff)
   */
  readonly throttleAttempts?: number;
  /**
   * Attempts of one request for other retryable errors (network, 5xx), counted by the standard strategy.
   * @default 5
   */
  readonly maxAttempts?: number;
  /** @default 200 */
  readonly baseMs?: number;
  /** @default 20_000 */
  readonly maxMs?: number;
  readonly random?: () => number;
  /** Told about every retry of a throttled request, so runs can report how hard they were throttled. */
  readonly onThrottleRetry?: (retry: ThrottleRetry) => void;
}

/** The standard strategy's token inside, and the count of throttled attempts beside it. */
class Token implements RetryToken {
  readonly inner: StandardRetryToken;
  readonly throttles: number;
  private readonly count: number;
  private readonly delay: number;
  readonly $retryLog?: { acquisitionDelay: number };

  constructor(inner: StandardRetryToken, throttles: number, count: number, delay: number) {
    this.inner = inner;
    this.throttles = throttles;
    this.count = count;
    this.delay = delay;
    this.$retryLog = (inner as { $retryLog?: { acquisitionDelay: number } }).$retryLog;
  }

  getRetryCount(): number {
    return this.count;
  }

  /** The client's retry middleware waits this long before the next attempt. */
  getRetryDelay(): number {
    return this.delay;
  }
}

/** A retry strategy for one SDK client (`retryStrategy` in its config); give every client its own. */
export function throttleTolerantRetryStrategy(options: ThrottleRetryOptions = {}): RetryStrategyV2 {
  const standard = new StandardRetryStrategy(options.maxAttempts ?? 5);
  const throttleAttempts = options.throttleAttempts ?? 12;
  const random = options.random ?? Math.random;
  return {
    async acquireInitialRetryToken(scope: string): Promise<RetryToken> {
      return new Token(await standard.acquireInitialRetryToken(scope), 0, 0, 0);
    },
    async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
      const { inner, throttles } = token as Token;
      if (isThrottling(errorInfo.error)) {
        // Thrown here, the middleware rethrows the request's own (throttling) error.
        if (throttles + 1 >= throttleAttempts) throw new Error(`still throttled after ${throttleAttempts} attempts`);
        const ceiling = Math.min(options.maxMs ?? 20_000, (options.baseMs ?? 200) * 2 ** throttles);
        const delayMs = Math.floor(random() * ceiling);
        options.onThrottleRetry?.({ attempt: throttles + 1, delayMs, error: errorInfo.error });
        return new Token(inner, throttles + 1, token.getRetryCount() + 1, delayMs);
      }
      const next = await standard.refreshRetryTokenForRetry(inner, errorInfo);
      return new Token(next, throttles, token.getRetryCount() + 1, next.getRetryDelay());
    },
    recordSuccess(token: RetryToken): void {
      standard.recordSuccess((token as Token).inner);
    },
  };
}
