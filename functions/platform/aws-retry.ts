/**
 * A second line of defence against AWS throttling. The SDK retries a throttled call a few times, but it
 * also spends a per-client retry quota (500 tokens, 5 per retry) and stops retrying once a long burst has
 * drained it. A fleet-wide run must still finish, so calls that fail throttled are retried here with
 * exponential backoff and full jitter, however long the storm lasts, up to a bound.
 */
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

export interface ThrottleRetryOptions {
  readonly attempts?: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Told about every retry, so runs can report how hard they were throttled. */
  readonly onRetry?: (operation: string, attempt: number) => void;
}

export async function retryThrottled<T>(
  operation: string,
  call: () => Promise<T>,
  options: ThrottleRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 8;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || attempt >= attempts) throw error;
      options.onRetry?.(operation, attempt);
      const ceiling = Math.min(options.maxMs ?? 20_000, (options.baseMs ?? 200) * 2 ** (attempt - 1));
      await sleep(Math.floor(random() * ceiling));
    }
  }
}

/** Wraps every async method of a port in `retryThrottled`, named after the method. */
export function withThrottleRetries<T extends object>(port: T, options: ThrottleRetryOptions = {}): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => retryThrottled(String(property), () => value.apply(target, args), options);
    },
  });
}
