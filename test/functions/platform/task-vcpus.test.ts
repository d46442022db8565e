/** The task's vCPUs from the ECS task metadata endpoint (a local server stands in for it). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '#functions/contracts/config/load.ts';
import { dumpRequestFor } from '#functions/dumps/request.ts';
import { taskVcpus } from '#functions/platform/task-vcpus.ts';

describe('the vCPUs of the task', () => {
  let base = '';
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  const server = createServer((request, response) => {
    response.writeHead(request.url === '/v4/abc/task' ? answer.status : 404, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/abc`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads the task's CPU limit, in vCPUs", async () => {
    answer = { status: 200, body: JSON.stringify({ Limits: { CPU: 4, Memory: 8192 } }) };
    expect(await taskVcpus({ ECS_CONTAINER_METADATA_URI_V4: base })).toBe(4);
  });

  it('knows nothing outside ECS, or when the endpoint fails', async () => {
    answer = { status: 500, body: 'no' };
    expect(await taskVcpus({})).toBeUndefined();
    expect(await taskVcpus({ ECS_CONTAINER_METADATA_URI_V4: base })).toBeUndefined();
    expect(await taskVcpus({ ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4' })).toBeUndefined();
  });

  it("makes a PostgreSQL target without parallelism use the task's vCPUs, and every other target one stream", () => {
    const target = (kind: string, extra: object = {}) =>
      parseConfig(
        {
          targets: [
            {
              name: 'big',
              kind,
              schedule: { expression: 'rate(1 day)' },
              source: { host: 'db.internal', secret: 'safekeep/big' },
              network: { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
              ...extra,
            },
          ],
        },
        'test',
      ).targets[0] as Parameters<typeof dumpRequestFor>[0];
    const streams = (kind: string, vcpus: number | undefined, extra: object = {}) =>
      dumpRequestFor(target(kind, extra), { bucket: 'b', vcpus }, { password: 'p' }).parallelism;
    expect(streams('postgres', 4)).toBe(4);
    expect(streams('postgres', 0.25)).toBe(1);
    expect(streams('postgres', undefined)).toBe(1);
    expect(streams('postgres', 4, { parallelism: 2 })).toBe(2);
    expect(streams('mysql', 4)).toBe(1);
  });
});
