/**
 * A signed JSON request to an AWS API that has no SDK client in this project's dependencies (EventBridge
 * PutEvents, EventBridge Scheduler CreateSchedule). SigV4 from the SDK's own signer, credentials from the
 * SDK's default chain, endpoints from the standard variables (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL).
 * Replace with @aws-sdk/client-eventbridge and @aws-sdk/client-scheduler once they are dependencies.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsJsonRequest {
  /** The signing name and endpoint prefix: "events", "scheduler". */
  readonly service: string;
  /** The endpoint variable's service part: AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_SCHEDULER. */
  readonly endpointVariable: string;
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly contentType?: string;
}

/** node:crypto's SHA-256 (and HMAC) in the shape the signer takes. */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData) =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const credentials = defaultProvider();

export async function awsJsonRequest<T>(request: AwsJsonRequest, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = new URL(
    env[`AWS_ENDPOINT_URL_${request.endpointVariable}`] ??
      env.AWS_ENDPOINT_URL ??
      `https://${request.service}.${region}.amazonaws.com`,
  );
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  const signer = new SignatureV4({ service: request.service, region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: request.method,
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: request.path,
    headers: {
      host: endpoint.host,
      'content-type': request.contentType ?? 'application/json',
      ...request.headers,
    },
    body,
  });
  const response = await fetch(new URL(request.path, endpoint), {
    method: request.method,
    headers: signed.headers,
    body,
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const code = String(parsed.__type ?? parsed.Code ?? response.status)
      .split('#')
      .at(-1);
    throw Object.assign(new Error(`${request.service} answered ${code}: ${String(parsed.message ?? parsed.Message ?? text)}`), {
      name: code,
    });
  }
  return parsed as T;
}
