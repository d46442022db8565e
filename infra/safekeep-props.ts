/**
 * The `Safekeep` construct's props: the config file's shape, where a CDK app may also hand over the
 * references it holds (a database, a secret, a VPC with its subnets and security groups, a key) instead of
 * names and ids. `toConfigInput` turns them back into the config's shape (their names and ids, tokens where
 * CloudFormation resolves them) and keeps the references, so the constructs can grant on them directly.
 */
import { Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { SafekeepConfigInput, TargetKind } from '#functions/contracts/config/schema.ts';
import type { SafekeepFunctionNetwork } from './constructs/safekeep-function.ts';

type TargetInput = SafekeepConfigInput['targets'][number];
type InputOf<K extends TargetKind> = Extract<TargetInput, { kind: K }>;
type CopyInput = NonNullable<InputOf<'rds-instance'>['copy']>;

/** A copy to another region, encrypted with a key the app holds. */
export interface CopyWithKey {
  /** The customer-managed key in the destination region. */
  readonly key: kms.IKey;
  /**
   * The destination region.
   * @default - the key's region (required when the key's stack is environment-agnostic)
   */
  readonly region?: string;
}

/** Where a dump target's task or Lambda worker runs, as the app's own VPC objects. */
export interface DumpNetwork {
  readonly vpc: ec2.IVpc;
  /**
   * The subnets the task can reach the database from.
   * @default - the VPC's private subnets (`vpc.selectSubnets()`'s default)
   */
  readonly subnets?: ec2.SubnetSelection;
  /** Security groups allowed into the database. */
  readonly securityGroups: ec2.ISecurityGroup[];
  /** @default false */
  readonly assignPublicIp?: boolean;
}

type WithCopy<T> = Omit<T, 'copy'> & { readonly copy?: CopyInput | CopyWithKey };

export type RdsInstanceTargetProps = WithCopy<Omit<InputOf<'rds-instance'>, 'source'>> & {
  readonly source: InputOf<'rds-instance'>['source'] | { readonly instance: rds.IDatabaseInstance };
};
export type RdsClusterTargetProps = WithCopy<Omit<InputOf<'rds-cluster'>, 'source'>> & {
  readonly source: InputOf<'rds-cluster'>['source'] | { readonly cluster: rds.IDatabaseCluster };
};
export type EbsVolumeTargetProps = WithCopy<InputOf<'ebs-volume'>>;
export type Ec2InstanceTargetProps = WithCopy<InputOf<'ec2-instance'>>;
export type DumpTargetProps<K extends 'postgres' | 'mysql' | 'dolt' | 'doltgres'> = Omit<InputOf<K>, 'source' | 'network'> & {
  readonly source: Omit<InputOf<K>['source'], 'secret'> & {
    /** The secret holding `username` and `password`: the app's own, or its name or ARN. */
    readonly secret: string | secretsmanager.ISecret;
  };
  readonly network: InputOf<K>['network'] | DumpNetwork;
};

/** One target: as in the config file, or with the app's references in place of names and ids. */
export type SafekeepTargetProps =
  | RdsInstanceTargetProps
  | RdsClusterTargetProps
  | EbsVolumeTargetProps
  | Ec2InstanceTargetProps
  | DumpTargetProps<'postgres'>
  | DumpTargetProps<'mysql'>
  | DumpTargetProps<'dolt'>
  | DumpTargetProps<'doltgres'>;

/**
 * Everything `safekeep.config.yaml` describes, as the construct takes it: the file's shape (see `infra/app.ts`),
 * and in a CDK app's code the references it holds wherever a target names a resource.
 */
export interface SafekeepProps extends Omit<SafekeepConfigInput, 'targets'> {
  readonly targets: readonly SafekeepTargetProps[];
}

/** What a target was given as references, for the constructs that grant on them or place functions with them. */
export interface TargetReferences {
  readonly secret?: secretsmanager.ISecret;
  readonly network?: SafekeepFunctionNetwork;
}

/**
 * The props in the config's shape (references become their ids, tokens included), the references by target
 * name, and the placeholders `parseConfigWithTokens` should use where a reference tells more than its field.
 */
export function toConfigInput(props: SafekeepProps): {
  input: SafekeepConfigInput;
  references: ReadonlyMap<string, TargetReferences>;
  placeholders: ReadonlyMap<string, string>;
} {
  const references = new Map<string, TargetReferences>();
  const placeholders = new Map<string, string>();
  const targets = props.targets.map((target, index) => {
    const refs: { secret?: secretsmanager.ISecret; network?: SafekeepFunctionNetwork } = {};
    const out: Record<string, unknown> = { ...target };
    if ('copy' in target && target.copy && 'key' in target.copy) {
      out.copy = copyInput(target.copy);
      // A key's ARN may be a token while its region is known: the schema then checks that region against the copy's.
      const keyRegion = knownRegionOf(target.copy.key);
      if (keyRegion) placeholders.set(`targets.${index}.copy.kmsKeyArn`, `arn:aws:kms:${keyRegion}:000000000000:key/deferred`);
    }
    const source = target.source as Record<string, unknown>;
    if ('instance' in source) out.source = { instanceId: (source.instance as rds.IDatabaseInstance).instanceIdentifier };
    if ('cluster' in source) out.source = { clusterId: (source.cluster as rds.IDatabaseCluster).clusterIdentifier };
    if (isSecret(source.secret)) {
      refs.secret = source.secret;
      out.source = { ...source, secret: source.secret.secretArn };
    }
    if ('network' in target && target.network && 'vpc' in target.network) {
      const { vpc, subnets, securityGroups, assignPublicIp } = target.network;
      const selected = vpc.selectSubnets(subnets).subnets;
      refs.network = { vpc, subnets: selected, securityGroups };
      out.network = {
        vpcId: vpc.vpcId,
        subnetIds: selected.map((subnet) => subnet.subnetId),
        securityGroupIds: securityGroups.map((group) => group.securityGroupId),
        ...(assignPublicIp === undefined ? {} : { assignPublicIp }),
      };
    }
    if (typeof target.name === 'string' && (refs.secret || refs.network)) references.set(target.name, refs);
    return out;
  });
  return { input: { ...props, targets } as SafekeepConfigInput, references, placeholders };
}

/** A key's ARN, and the copy's region: the one given, else the key's own when its stack names one. */
function copyInput(copy: CopyWithKey): CopyInput {
  return { region: copy.region ?? knownRegionOf(copy.key), kmsKeyArn: copy.key.keyArn } as CopyInput;
}

function knownRegionOf(key: kms.IKey): string | undefined {
  return Token.isUnresolved(key.env.region) ? undefined : key.env.region;
}

function isSecret(value: unknown): value is secretsmanager.ISecret {
  return typeof value === 'object' && value !== null && 'secretArn' in value && 'grantRead' in value;
}
