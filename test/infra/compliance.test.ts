import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '#functions/contracts/config/load.ts';
import { acknowledgeKnownFindings, nagPacks } from '#infra/compliance.ts';
import { ACKNOWLEDGEMENTS } from '#infra/compliance-acknowledgements.ts';
import { ArtifactBucket } from '#infra/constructs/artifact-bucket.ts';
import { SafekeepStack } from '#infra/safekeep-stack.ts';
import { CDK_CONTEXT, synthApp } from '#test/support/cdk.ts';
import { SCANNED_CONFIGS } from '#test/support/iam.ts';

const PACKS = ['AwsSolutions', 'NIST.800.53.R5', 'HIPAA.Security', 'PCI.DSS.321', 'Serverless'];

describe('compliance gate (cdk-nag AwsSolutions, NIST 800-53 R5, HIPAA, PCI DSS 3.2.1, Serverless)', () => {
  it.each(SCANNED_CONFIGS)('reports no unacknowledged finding in any pack on the template of %s', (config) => {
    const { app, stack } = synthApp(config);
    expect(nagPacks(app).map((p) => p.readPackName)).toEqual(PACKS);
    const findings = nagPacks(app).flatMap((pack) => {
      const report = pack.validateScope(stack);
      return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`));
    });
    expect(findings).toEqual([]);
  });

  it('reports nothing either when the stack names its account and region (ARNs then spell them out)', () => {
    const app = new App({ context: CDK_CONTEXT });
    const stack = new SafekeepStack(app, 'Pinned', {
      config: loadConfigFile('safekeep.config.yaml'),
      env: { account: '123456789012', region: 'eu-central-1' },
    });
    acknowledgeKnownFindings(app);
    const findings = nagPacks(app).flatMap((pack) =>
      pack.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });

  it('still finds what the acknowledgements cover when they are not applied (the gate can fail)', () => {
    const app = new App({ context: CDK_CONTEXT });
    const stack = new Stack(app, 'Bare');
    new ArtifactBucket(stack, 'Artifacts');
    const rules = nagPacks(app).flatMap((pack) => pack.validateScope(stack).violations.map((v) => v.ruleName));
    expect(rules).toEqual(
      expect.arrayContaining(['NIST.800.53.R5-S3DefaultEncryptionKMS', 'HIPAA.Security-S3BucketReplicationEnabled']),
    );
  });

  it('gives every acknowledgement a reason and applies each to the constructs it names, nothing wider', () => {
    const { app } = synthApp();
    for (const acknowledgement of ACKNOWLEDGEMENTS) {
      expect(acknowledgement.reason.length).toBeGreaterThan(40);
      for (const { construct, rules } of acknowledgement.on(app)) {
        expect(rules.length).toBeGreaterThan(0);
        // Never on the app or a whole stack: an exception must name what it covers.
        expect(construct.node.scopes.length).toBeGreaterThan(2);
      }
    }
  });
});
