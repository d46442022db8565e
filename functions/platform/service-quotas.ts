/**
 * Service Quotas' GetServiceQuota, the one call Safekeep makes to it: a quota's applied value for this
 * account and region (the dispatcher reads the Fargate vCPU quota, fleet-pacing.ts).
 */
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

export interface ServiceQuotasOptions {
  readonly region: string;
  /** @default the SDK's: AWS_ENDPOINT_URL_SERVICE_QUOTAS, AWS_ENDPOINT_URL, else the regional endpoint */
  readonly endpointUrl?: string;
  readonly credentials?: AwsCredentialIdentityProvider;
}

/** Reads one quota's applied value; undefined when the account has no value for it. */
export function serviceQuotaClient(options: ServiceQuotasOptions) {
  const client = new ServiceQuotasClient({
    region: options.region,
    ...(options.endpointUrl ? { endpoint: options.endpointUrl } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return async function getServiceQuota(serviceCode: string, quotaCode: string): Promise<number | undefined> {
    const reply = await client.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }));
    return reply.Quota?.Value;
  };
}
