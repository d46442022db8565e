/**
 * The compliance gate: cdk-nag's AWS Solutions, NIST 800-53 rev 5 and HIPAA Security packs run at synth,
 * and any finding not acknowledged here fails it. Every acknowledgement lives in this file, with its reason
 * and the exact constructs it covers, so a reviewer reads the whole list of exceptions in one place.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, type NagPack, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ArtifactBucket } from './artifact-bucket.ts';

/** The rule packs Safekeep is held to. */
export function nagPacks(scope: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new NIST80053R5Checks(scope), new HIPAASecurityChecks(scope)];
}

interface Acknowledgement {
  /** Rule ids as cdk-nag reports them, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly rules: readonly string[];
  readonly reason: string;
  /** The constructs (found from the root) the acknowledgement applies to; nothing else is exempt. */
  readonly on: (root: IConstruct) => IConstruct[];
}

const artifactBuckets = (root: IConstruct) => root.node.findAll().filter((c): c is ArtifactBucket => c instanceof ArtifactBucket);

export const ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  {
    rules: ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'HIPAA.Security-S3DefaultEncryptionKMS'],
    reason:
      'S3 server access logging can only deliver to a bucket encrypted with SSE-S3; the access-log bucket holds request logs, never backup data.',
    on: (root) => artifactBuckets(root).map((b) => b.accessLogBucket),
  },
  {
    rules: ['NIST.800.53.R5-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled'],
    reason:
      'The bucket holds backups, which are themselves the second copy; S3 stores them across three or more AZs, and off-region copies are made per target (snapshot copy). Replicating access logs adds nothing.',
    on: (root) => artifactBuckets(root).flatMap((b) => [b.bucket, b.accessLogBucket]),
  },
];

/** Records every acknowledgement on its constructs; call after the stacks are built. */
export function acknowledgeKnownFindings(root: IConstruct): void {
  for (const acknowledgement of ACKNOWLEDGEMENTS) {
    for (const construct of acknowledgement.on(root)) {
      Validations.of(construct).acknowledge(...acknowledgement.rules.map((id) => ({ id, reason: acknowledgement.reason })));
    }
  }
}

/** Registers the packs so `cdk synth` fails on any unacknowledged finding. */
export function addComplianceChecks(app: App): void {
  acknowledgeKnownFindings(app);
  Validations.of(app).addPlugins(...nagPacks(app));
}
