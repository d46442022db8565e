import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KmsPort } from '../core/ports.ts';

export function kmsKeys(client: KMSClient): KmsPort {
  return {
    async keyUsable(keyArn) {
      try {
        const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: keyArn }));
        return KeyMetadata?.Enabled === true && KeyMetadata.KeyState === 'Enabled';
      } catch (error) {
        if ((error as Error).name === 'NotFoundException') return false;
        throw error;
      }
    },
  };
}
