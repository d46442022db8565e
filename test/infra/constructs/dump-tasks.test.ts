import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createSafekeepApp } from '#infra/safekeep-app.ts';

const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:safekeep/meta';

describe('dump tasks', () => {
  it('take a secret given as a partial ARN (no six-character suffix) and grant it with the suffix wildcard', () => {
    // Prepare
    const path = join(mkdtempSync(join(tmpdir(), 'safekeep-dump-tasks-')), 'config.yaml');
    writeFileSync(
      path,
      `targets:
  - name: meta
    kind: postgres
    schedule: { expression: "cron(0 3 * * ? *)" }
    source: { host: db.internal, secret: "${PARTIAL_ARN}" }
    network: { vpcId: vpc-0a1b2c3d, subnetIds: [subnet-0a1b2c3d], securityGroupIds: [sg-0a1b2c3d] }
`,
    );

    // Act
    const { stack } = createSafekeepApp({ configPath: path });
    const template = Template.fromStack(stack);

    // Assess
    const [definition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    const secrets = definition?.Properties.ContainerDefinitions[0].Secrets as { Name: string; ValueFrom: unknown }[];
    expect(JSON.stringify(secrets)).toContain(`${PARTIAL_ARN}:password::`);
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain(`${PARTIAL_ARN}-??????`);
  });
});
