/** The EC2 side of a restore drill: where the source volume is, the drill's volumes, their deletion. */
import { DeleteVolumeCommand, DescribeVolumesCommand, type EC2Client, paginateDescribeVolumes } from '@aws-sdk/client-ec2';
import type { DrillEc2Port, DrillVolume } from '../core/drill-ports.ts';
import { fromTags } from './aws-tags.ts';

export function ec2Drill(client: EC2Client): DrillEc2Port {
  return {
    async volumeZone(volumeId) {
      try {
        return (await client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0]?.AvailabilityZone;
      } catch (error) {
        if ((error as Error).name === 'InvalidVolume.NotFound') return undefined;
        throw error;
      }
    },
    async volumesTagged(key, value) {
      const out: DrillVolume[] = [];
      for await (const page of paginateDescribeVolumes(
        { client, pageSize: 500 },
        { Filters: [{ Name: `tag:${key}`, Values: [value] }] },
      )) {
        for (const v of page.Volumes ?? []) {
          if (v.VolumeId) out.push({ id: v.VolumeId, state: v.State ?? 'unknown', tags: fromTags(v.Tags) });
        }
      }
      return out;
    },
    async deleteVolume(volumeId) {
      try {
        await client.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      } catch (error) {
        if ((error as Error).name !== 'InvalidVolume.NotFound') throw error;
      }
    },
  };
}
