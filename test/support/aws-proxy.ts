/**
 * An HTTP proxy in front of moto that counts every AWS API call and can answer a share of them with the
 * throttling error each service really sends (moto never throttles). The SDK's retries then do the rest,
 * exactly as against AWS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyStats {
  requests: number;
  throttled: number;
  byService: Record<string, number>;
}

/** What AWS answers a throttled call with, per protocol. */
const THROTTLED: Record<string, { status: number; type: string; body: string }> = {
  rds: {
    status: 400,
    type: 'text/xml',
    body: '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId></ErrorResponse>',
  },
  ec2: {
    status: 503,
    type: 'text/xml',
    body: '<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>',
  },
  kms: { status: 400, type: 'application/x-amz-json-1.1', body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' },
  ecs: { status: 400, type: 'application/x-amz-json-1.1', body: '{"__type":"ThrottlingException","message":"Rate exceeded"}' },
  dynamodb: {
    status: 400,
    type: 'application/x-amz-json-1.0',
    body: '{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}',
  },
};

/** A JSON-protocol call as the proxy sees it, for `intercept`. */
export interface InterceptedCall {
  readonly service: string;
  /** The X-Amz-Target operation (`RunTask`, `GetServiceQuota`), or undefined for REST protocols. */
  readonly operation?: string;
  /** 1-based, across all services. */
  readonly number: number;
}

/** An answer the proxy gives instead of forwarding. */
export interface InterceptedAnswer {
  readonly status: number;
  readonly body: unknown;
  /** @default application/x-amz-json-1.1 */
  readonly type?: string;
}

/** A deterministic pseudo-random sequence, so a failing run can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface AwsProxyOptions {
  /** Share of calls throttled at random (seeded). */
  readonly throttleRate?: number;
  readonly seed?: number;
  /** Throttle exactly the calls this picks instead, by their 1-based number across all services. */
  readonly throttle?: (request: number) => boolean;
  /**
   * Answers a call itself (a quota moto lacks, a failure moto never gives), or undefined to go on as usual.
   * Runs before random throttling; the throttling it answers with counts as throttled only if it says so.
   */
  readonly intercept?: (call: InterceptedCall) => (InterceptedAnswer & { throttled?: boolean }) | undefined;
}

export async function startAwsProxy(target: string, options: AwsProxyOptions = {}) {
  const upstream = new URL(target);
  const random = mulberry32(options.seed ?? 42);
  const stats: ProxyStats = { requests: 0, throttled: 0, byService: {} };
  const server = http.createServer((request, response) => {
    const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(request.headers.authorization ?? '')?.[1] ?? 'unknown';
    stats.requests++;
    stats.byService[service] = (stats.byService[service] ?? 0) + 1;
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1];
    const answer = options.intercept?.({ service, operation, number: stats.requests });
    if (answer) {
      if (answer.throttled) stats.throttled++;
      request.resume();
      response.writeHead(answer.status, { 'content-type': answer.type ?? 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(answer.body));
      return;
    }
    const throttle = THROTTLED[service];
    const throttled = options.throttle ? options.throttle(stats.requests) : random() < (options.throttleRate ?? 0);
    if (throttle && throttled) {
      stats.throttled++;
      request.resume();
      response.writeHead(throttle.status, { 'content-type': throttle.type });
      response.end(throttle.body);
      return;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    forwarded.on('error', (error) => {
      response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(forwarded);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
