/**
 * Service Quotas' GetServiceQuota, the one call Safekeep makes to it, signed with SigV4 over fetch. The
 * project has no @aws-sdk/client-service-quotas; the request is one JSON POST (awsJson1_1), so a signed
 * fetch does what that client would, with the SDK's own signer and credential chain.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';

export interface ServiceQuotasOptions {
  readonly region: string;
  /** @default AWS_ENDPOINT_URL_SERVICE_QUOTAS, AWS_ENDPOINT_URL, else https://servicequotas.<region>.amazonaws.com */
  readonly endpointUrl?: string;
  readonly credentials?: AwsCredentialIdentityProvider;
}

/** node:crypto as the signer's hash (SHA-256, keyed for HMAC). */
class NodeSha256 implements Checksum {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** Reads one quota's applied value; undefined when the account has no value for it. */
export function serviceQuotaClient(options: ServiceQuotasOptions) {
  const endpoint = new URL(
    options.endpointUrl ??
      process.env.AWS_ENDPOINT_URL_SERVICE_QUOTAS ??
      process.env.AWS_ENDPOINT_URL ??
      `https://servicequotas.${options.region}.amazonaws.com`,
  );
  const signer = new SignatureV4({
    service: 'servicequotas',
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: NodeSha256,
  });
  return async function getServiceQuota(serviceCode: string, quotaCode: string): Promise<number | undefined> {
    const body = JSON.stringify({ ServiceCode: serviceCode, QuotaCode: quotaCode });
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: endpoint.pathname,
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'ServiceQuotasV20190624.GetServiceQuota',
      },
      body,
    });
    const response = await fetch(endpoint, { method: 'POST', headers: signed.headers, body });
    const reply = (await response.json().catch(() => ({}))) as { Quota?: { Value?: number }; __type?: string; message?: string };
    if (!response.ok) {
      const error = new Error(`GetServiceQuota ${serviceCode}/${quotaCode}: ${reply.message ?? response.statusText}`);
      error.name = reply.__type?.split('#').pop() ?? `HTTP${response.status}`;
      throw error;
    }
    return reply.Quota?.Value;
  };
}
