/**
 * The one schema for `safekeep.config.yaml`, shared by `infra/` (synth) and `functions/` (runtime payloads).
 * Every message here says what is allowed; `formatConfigIssues` adds the target, the field and the value given.
 */
import { parse as parseArn, validate as validateArn } from '@aws-sdk/core/util';
import { drillSettingsShape } from '../drill.ts';
import { TLS_MODES } from '../tls.ts';
import * as z from '../zod.ts';
import { isIanaTimeZone, parseScheduleExpression, ScheduleExpressionError } from './schedule-expression.ts';
import { allowedAgeSeconds, ScheduleIntervalError } from './schedule-interval.ts';

export const SNAPSHOT_KINDS = ['rds-instance', 'rds-cluster', 'ebs-volume', 'ec2-instance'] as const;
export const DUMP_KINDS = ['postgres', 'mysql', 'dolt', 'doltgres'] as const;
export const TARGET_KINDS = [...SNAPSHOT_KINDS, ...DUMP_KINDS] as const;
export type SnapshotTargetKind = (typeof SNAPSHOT_KINDS)[number];
export type DumpTargetKind = (typeof DUMP_KINDS)[number];
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Target names become S3 prefixes, tags, schedule names and RDS snapshot identifiers. */
export const TARGET_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
const TARGET_NAME_RULE =
  '1-48 characters of lowercase letters, digits and "-", starting and ending with a letter or digit, no "--" (names become S3 prefixes and RDS snapshot identifiers)';

export const targetName = z.string().check(
  z.superRefine((name, ctx) => {
    if (!TARGET_NAME_PATTERN.test(name) || name.includes('--')) {
      const why = name.includes('..') || name.includes('/') ? ' ("." and "/" would escape the S3 prefix)' : '';
      ctx.addIssue({ code: 'custom', message: `must be ${TARGET_NAME_RULE}${why}` });
    }
  }),
);

const scheduleExpression = z.string().check(
  z.superRefine((expression, ctx) => {
    try {
      parseScheduleExpression(expression);
    } catch (error) {
      if (!(error instanceof ScheduleExpressionError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  }),
);

const timeZone = z.string().check(
  z.refine(isIanaTimeZone, {
    message: 'must be an IANA time zone name such as "Etc/UTC", "Europe/Berlin" or "America/New_York"',
  }),
);

export const scheduleSchema = z.strictObject({
  /** EventBridge Scheduler expression: cron(min hour dom month dow year) or rate(n unit). */
  expression: scheduleExpression,
  /** IANA time zone the cron expression is evaluated in. */
  timezone: z._default(timeZone, 'Etc/UTC'),
  /** Lets Scheduler start the run up to this many minutes late, spreading load across targets. */
  flexibleWindowMinutes: z.optional(z.int().check(z.gte(1), z.lte(1440))),
});

const count = (max: number) => z.int().check(z.gte(0), z.lte(max));

export const retentionSchema = z
  .strictObject({
    /** Keep the newest N backups. */
    keepLast: z.optional(z.int().check(z.gte(1), z.lte(10_000))),
    /** Delete backups older than this many days (the floor still applies). */
    maxAgeDays: z.optional(z.int().check(z.gte(1), z.lte(36_500))),
    /** Grandfather-father-son tiers: the newest backup of each of the last N days, ISO weeks, months and years. */
    gfs: z.optional(
      z.partial(z.strictObject({ daily: count(3_660), weekly: count(520), monthly: count(1_200), yearly: count(100) })),
    ),
    /** Never keep fewer than this many backups, whatever the other rules say. */
    minimum: z._default(z.int().check(z.gte(1), z.lte(10_000)), 1),
  })
  .check(
    z.superRefine((retention, ctx) => {
      if (retention.keepLast !== undefined && retention.minimum > retention.keepLast) {
        ctx.addIssue({
          code: 'custom',
          path: ['minimum'],
          message: `the floor (${retention.minimum}) must not exceed keepLast (${retention.keepLast}); lower minimum or raise keepLast`,
        });
      }
      const tiers = Object.values(retention.gfs ?? {}).filter((n) => n > 0).length;
      if (retention.gfs !== undefined && tiers === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['gfs'],
          message: 'give at least one of daily, weekly, monthly or yearly a count above 0',
        });
      }
      if (retention.keepLast === undefined && retention.maxAgeDays === undefined && retention.gfs === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'set at least one of keepLast, maxAgeDays or gfs (leave retention out to keep every backup)',
        });
      }
    }),
  );

const email = z.email({ message: 'must be an e-mail address such as ops@example.com' });

export const alertsSchema = z.strictObject({
  /** Addresses subscribed to this target's failure and lateness alarms. */
  emails: z._default(z.array(email), []),
  /** Alarm when the newest good backup is older than this; default: twice the schedule's interval. */
  maxAgeHours: z.optional(z.number().check(z.positive(), z.lte(24 * 366))),
});

const secretReference = z.string().check(
  z.regex(/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+|[A-Za-z0-9/_+=.@-]{1,512})$/, {
    message: 'must be a Secrets Manager secret name or ARN (the secret holds username and password)',
  }),
);

const awsId = (prefix: string, what: string) =>
  z
    .string()
    .check(z.regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), { message: `must be ${what} id such as ${prefix}-0abc1234` }));

export const networkSchema = z.strictObject({
  vpcId: awsId('vpc', 'a VPC'),
  subnetIds: z
    .array(awsId('subnet', 'a subnet'))
    .check(z.minLength(1, { message: 'list at least one subnet the task can reach the database from' })),
  securityGroupIds: z
    .array(awsId('sg', 'a security group'))
    .check(z.minLength(1, { message: 'list at least one security group allowed into the database' })),
  /** Give the Fargate task a public IP (only for subnets without a NAT gateway or VPC endpoints). */
  assignPublicIp: z._default(z.boolean(), false),
});

const databaseName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(/^[^\0/\\]+$/, { message: 'must be a database name without "/", "\\" or NUL' }),
  );

const dumpSource = z.strictObject({
  host: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(253),
      z.regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/, { message: 'must be a host name or IP address' }),
    ),
  port: z.optional(z.int().check(z.gte(1), z.lte(65_535))),
  /** Databases to back up; default: every non-template database on the server. */
  databases: z.optional(z.array(databaseName).check(z.minLength(1))),
  /** Secrets Manager secret with `username` and `password`; injected into the task, never in argv or logs. */
  secret: secretReference,
  /** TLS to the database; default verify-full for RDS and Aurora endpoints, disable for Dolt, else require. */
  tls: z.optional(z.enum(TLS_MODES)),
});

const region = z
  .string()
  .check(z.regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, { message: 'must be an AWS region such as eu-west-1' }));
const kmsKeyArn = z
  .string()
  .check(
    z.regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/, { message: 'must be a KMS key or alias ARN' }),
  );

export const copySchema = z
  .strictObject({
    /** Region the snapshot is copied to. */
    region,
    /** Customer-managed key in the destination region that encrypts the copy. */
    kmsKeyArn,
  })
  .check(
    z.superRefine((copy, ctx) => {
      // A malformed ARN is kmsKeyArn's own issue, already reported.
      if (!validateArn(copy.kmsKeyArn)) return;
      const keyRegion = parseArn(copy.kmsKeyArn).region;
      if (keyRegion !== copy.region) {
        ctx.addIssue({
          code: 'custom',
          path: ['kmsKeyArn'],
          message: `the key must live in the destination region ${copy.region}, not ${keyRegion}`,
        });
      }
    }),
  );

/** A failed run is started again as a new run (its own id, naming the one it retries) after the backoff. */
export const retriesSchema = z.strictObject({
  /** Runs in all, the first included: 1 means no retry. */
  attempts: z
    .int({ message: 'must be a whole number of runs, the first included (1 = no retry)' })
    .check(
      z.gte(1, { message: 'must be at least 1 (1 = no retry)' }),
      z.lte(5, { message: 'must be at most 5; a target that fails five times in a row needs a person, not a sixth run' }),
    ),
  /** Minutes between a failed run's end and its retry. */
  backoffMinutes: z
    .int({ message: 'must be a whole number of minutes' })
    .check(
      z.gte(1, { message: 'must be at least 1 minute' }),
      z.lte(24 * 60, { message: 'must be at most 1440 (a day); the next scheduled run comes sooner than that' }),
    ),
});
export const DEFAULT_RETRIES = { attempts: 2, backoffMinutes: 10 } as const;

const tagMap = z.record(z.string().check(z.minLength(1), z.maxLength(128)), z.string().check(z.maxLength(256)));

const drillSchema = z.strictObject({ schedule: scheduleSchema, ...drillSettingsShape });
/** A SQL check needs a database to ask: only RDS instance and Aurora cluster restores have one. */
const drillWithoutCheck = drillSchema.check(
  z.refine((drill) => drill.check === undefined, {
    path: ['check'],
    message: 'applies only to rds-instance and rds-cluster targets (a restored volume or dump answers no SQL here); remove it',
  }),
);

const common = {
  name: targetName,
  description: z.optional(z.string().check(z.maxLength(256))),
  schedule: z.optional(scheduleSchema),
  retention: z.optional(retentionSchema),
  alerts: z.optional(alertsSchema),
  /** Restore drills on their own schedule (contracts/drill.ts); none by default. */
  drill: z.optional(drillWithoutCheck),
  /** Default: 2 attempts, 10 minutes apart (DEFAULT_RETRIES). */
  retries: z._default(
    z.pipe(
      z.strictObject({
        attempts: z.optional(retriesSchema.shape.attempts),
        backoffMinutes: z.optional(retriesSchema.shape.backoffMinutes),
      }),
      z.transform((retries) => ({ ...DEFAULT_RETRIES, ...retries })),
    ),
    DEFAULT_RETRIES,
  ),
};

const snapshotCommon = { ...common, copy: z.optional(copySchema) };

const dumpCommon = {
  ...common,
  network: networkSchema,
  compression: z._default(z.enum(['zstd', 'gzip', 'none']), 'zstd'),
  /** Where the dump runs: a Fargate task (default) or, for small databases, a Lambda function. */
  runner: z._default(z.enum(['fargate', 'lambda']), 'fargate'),
  /**
   * An ebs-volume or ec2-instance target of this config snapshotted in each of this target's runs, under the
   * same run id (Dolt's data volume with its logical backup). It runs only with this target: no schedule of its own.
   */
  pairedWith: z.optional(targetName),
  /** The run fails (and is alerted) when it takes longer than this; by default 240, or 14 with runner "lambda". */
  timeoutMinutes: z.optional(z.int().check(z.gte(1), z.lte(24 * 60))),
  /** PostgreSQL: streams per database, all from one snapshot; by default the task's vCPUs (1 where unknown). */
  parallelism: z.optional(z.int().check(z.gte(1), z.lte(64))),
};

/** Why only PostgreSQL dumps in parallel: the others cannot share one snapshot between their dump processes. */
export const SINGLE_STREAM_REASONS: Record<Exclude<DumpTargetKind, 'postgres'>, string> = {
  mysql:
    'mysqldump and mariadb-dump cannot share one snapshot between processes, so parallel streams would each see a different moment',
  dolt: 'Dolt writes its own backup (dolt backup sync), one stream',
  doltgres: 'Doltgres writes its own backup (dolt_backup), one stream',
};

/** RDS instance and Aurora cluster targets: their drills may run one SQL check against the restore. */
const rdsSnapshotCommon = { ...snapshotCommon, drill: z.optional(drillSchema) };

const rdsInstanceTarget = z.strictObject({
  ...rdsSnapshotCommon,
  kind: z.literal('rds-instance'),
  source: z.strictObject({
    instanceId: z.string().check(z.regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, { message: 'must be an RDS DB instance identifier' })),
  }),
});

const rdsClusterTarget = z.strictObject({
  ...rdsSnapshotCommon,
  kind: z.literal('rds-cluster'),
  source: z.strictObject({
    clusterId: z.string().check(z.regex(/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/, { message: 'must be an Aurora DB cluster identifier' })),
  }),
});

const ebsVolumeTarget = z.strictObject({
  ...snapshotCommon,
  kind: z.literal('ebs-volume'),
  source: z
    .strictObject({
      volumeId: z.optional(awsId('vol', 'an EBS volume')),
      /** Every volume carrying all of these tags. */
      tags: z.optional(tagMap),
    })
    .check(
      z.superRefine((source, ctx) => {
        const given = [source.volumeId, source.tags].filter((v) => v !== undefined).length;
        if (given !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of volumeId or tags' });
        if (source.tags && Object.keys(source.tags).length === 0) {
          ctx.addIssue({ code: 'custom', path: ['tags'], message: 'needs at least one tag, or it would select every volume' });
        }
      }),
    ),
});

const ec2InstanceTarget = z.strictObject({
  ...snapshotCommon,
  kind: z.literal('ec2-instance'),
  source: z.strictObject({
    instanceId: awsId('i', 'an EC2 instance'),
    /** Leave the root volume out of the crash-consistent set. */
    excludeBootVolume: z._default(z.boolean(), false),
  }),
});

/** Lambda stops a function after 15 minutes: a dump run there must be done, manifest and all, before that. */
export const LAMBDA_RUNNER_MAX_MINUTES = 14;

const DEFAULT_TIMEOUT_MINUTES = { fargate: 240, lambda: LAMBDA_RUNNER_MAX_MINUTES } as const;

const dumpTarget = <K extends DumpTargetKind>(kind: K) =>
  z.pipe(
    z.strictObject({ ...dumpCommon, kind: z.literal(kind), source: dumpSource }).check(
      z.superRefine((target, ctx) => {
        if (target.runner === 'lambda' && (target.timeoutMinutes ?? 0) > LAMBDA_RUNNER_MAX_MINUTES) {
          ctx.addIssue({
            code: 'custom',
            path: ['timeoutMinutes'],
            message: `with runner "lambda" it must be at most ${LAMBDA_RUNNER_MAX_MINUTES} (Lambda stops at 15 minutes); use runner "fargate" for longer dumps`,
          });
        }
        if (target.kind !== 'postgres' && (target.parallelism ?? 1) > 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['parallelism'],
            message: `must be 1 for ${target.kind} targets: ${SINGLE_STREAM_REASONS[target.kind as Exclude<DumpTargetKind, 'postgres'>]}; remove it`,
          });
        }
      }),
    ),
    z.transform((target) => ({ ...target, timeoutMinutes: target.timeoutMinutes ?? DEFAULT_TIMEOUT_MINUTES[target.runner] })),
  );

export const targetSchema = z.discriminatedUnion('kind', [
  rdsInstanceTarget,
  rdsClusterTarget,
  ebsVolumeTarget,
  ec2InstanceTarget,
  dumpTarget('postgres'),
  dumpTarget('mysql'),
  dumpTarget('dolt'),
  dumpTarget('doltgres'),
]);

export const bucketSchema = z.strictObject({
  /** Days a replaced or deleted object version is kept before it expires. */
  noncurrentVersionExpirationDays: z._default(z.int().check(z.gte(1), z.lte(36_500)), 90),
  /** Move backups to a colder storage class after some days. */
  transition: z.optional(
    z.strictObject({
      storageClass: z.enum(['STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE']),
      afterDays: z.int().check(z.gte(1), z.lte(36_500)),
    }),
  ),
  /** Object Lock can only be chosen when the bucket is created. */
  objectLock: z.optional(
    z.strictObject({
      mode: z.enum(['governance', 'compliance']),
      retentionDays: z.int().check(z.gte(1), z.lte(36_500)),
    }),
  ),
  /** Days access logs are kept in the log bucket. */
  accessLogRetentionDays: z._default(z.int().check(z.gte(1), z.lte(36_500)), 365),
  /**
   * The one IAM role that may delete object versions, bypass or shorten Object Lock retention, and schedule the
   * artifact key's deletion or disable it. Without it nobody can (short of changing the stack).
   */
  breakGlassRoleArn: z.optional(
    z.string().check(
      z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, {
        message: 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
      }),
    ),
  ),
});

/** Writer names become their S3 prefix (`_writers/<name>/`) and IAM resource names. */
export const WRITER_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * An external application (Bytebase's "Backup to the Cloud", say) that writes its own files into the artifact
 * bucket, under its own prefix only: a role its principal assumes, or an IAM user whose key is in Secrets Manager.
 */
export const writerSchema = z
  .strictObject({
    name: z.string().check(
      z.regex(WRITER_NAME_PATTERN, {
        message: 'must be 1-32 characters of lowercase letters, digits and "-", starting and ending with a letter or digit',
      }),
    ),
    description: z.optional(z.string().check(z.maxLength(256))),
    /** The principal allowed to assume the writer's role. */
    assumedBy: z.optional(
      z.string().check(
        z.regex(/^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]{1,512}|user\/[\w+=,.@/-]{1,512})$/, {
          message: 'must be an IAM principal ARN (arn:aws:iam::<account>:root, :role/<name> or :user/<name>)',
        }),
      ),
    ),
    /** For applications that only take an access key: an IAM user, its key kept in Secrets Manager. */
    staticKeys: z.optional(z.boolean().check(z.refine((on) => on, { message: 'must be true (leave it out to use assumedBy)' }))),
  })
  .check(
    z.superRefine((writer, ctx) => {
      if ((writer.assumedBy === undefined) === (writer.staticKeys === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'give exactly one of assumedBy (a principal ARN that assumes a role) or staticKeys: true (an IAM user)',
        });
      }
    }),
  );

const writersSchema = z.array(writerSchema).check(
  z.superRefine((writers, ctx) => {
    const seen = new Map<string, number>();
    writers.forEach((writer, index) => {
      const first = seen.get(writer.name);
      if (first === undefined) seen.set(writer.name, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicates writers[${first}]; every writer needs its own name (it is its S3 prefix)`,
        });
    });
  }),
);

const configShape = z.strictObject({
  version: z._default(z.literal(1, { message: 'must be 1 (the only config version so far)' }), 1),
  bucket: z._default(bucketSchema, () => bucketSchema.parse({})),
  /** Applied to every target that leaves the field out. */
  defaults: z._default(
    z.strictObject({
      schedule: z.optional(scheduleSchema),
      retention: z.optional(retentionSchema),
      alerts: z.optional(alertsSchema),
    }),
    {},
  ),
  targets: z.array(targetSchema).check(z.minLength(1, { message: 'list at least one target' })),
  /** External applications given a prefix of their own in the artifact bucket. */
  writers: z._default(writersSchema, []),
});

export const configSchema = z
  .pipe(
    configShape.check(
      z.superRefine((config, ctx) => {
        for (const issue of crossTargetIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
      }),
    ),
    z.transform((config) => ({
      ...config,
      targets: config.targets.map((target) => resolveDefaults(target, config.defaults, pairedScheduleOf(config, target.name))),
    })),
  )
  .check(
    z.superRefine((config, ctx) => {
      // Lateness is judged by the schedule's interval; a cron that fires once has none, so it needs a limit.
      config.targets.forEach((target, index) => {
        try {
          allowedAgeSeconds({ schedule: target.schedule, alerts: target.alerts });
        } catch (error) {
          if (!(error instanceof ScheduleIntervalError)) throw error;
          ctx.addIssue({ code: 'custom', path: ['targets', index, 'schedule', 'expression'], message: error.message });
        }
      });
    }),
  );

/**
 * Checks that span targets (unique names, a schedule from the target or the defaults). They take loosely
 * typed input because zod skips object-level refinements when any field failed, and a user fixing a
 * config wants every problem in one run: `parseConfig` runs them on the raw input too.
 */
export function crossTargetIssues(config: unknown): { path: (string | number)[]; message: string }[] {
  const { targets, defaults } = (config ?? {}) as { targets?: unknown; defaults?: { schedule?: unknown } };
  if (!Array.isArray(targets)) return [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  issues.push(...pairingIssues(targets));
  const paired = new Set(targets.map((target: { pairedWith?: unknown } | null) => target?.pairedWith));
  const seen = new Map<unknown, number>();
  targets.forEach((target: { name?: unknown; schedule?: unknown } | null, index) => {
    const name = target?.name;
    const first = seen.get(name);
    if (typeof name === 'string' && first !== undefined) {
      issues.push({
        path: ['targets', index, 'name'],
        message: `duplicates targets[${first}]; every target needs its own name (it is the S3 prefix)`,
      });
    } else if (typeof name === 'string') {
      seen.set(name, index);
    }
    const runsWithAnother = paired.has(name);
    if (
      target &&
      typeof target === 'object' &&
      target.schedule === undefined &&
      defaults?.schedule === undefined &&
      !runsWithAnother
    ) {
      issues.push({
        path: ['targets', index, 'schedule'],
        message: 'is required: give the target a schedule, or set defaults.schedule',
      });
    }
  });
  return issues;
}

/** A dump target's `pairedWith` names a volume or instance target, at most one dump per such target, which has no schedule of its own. */
function pairingIssues(targets: unknown[]): { path: (string | number)[]; message: string }[] {
  type Loose = { name?: unknown; kind?: unknown; schedule?: unknown; pairedWith?: unknown } | null;
  const list = targets as Loose[];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const pairedBy = new Map<string, number>();
  list.forEach((target, index) => {
    const name = target?.pairedWith;
    if (typeof name !== 'string') return;
    const at = list.findIndex((other) => other?.name === name);
    const other = list[at];
    if (!other || (other.kind !== 'ebs-volume' && other.kind !== 'ec2-instance')) {
      issues.push({
        path: ['targets', index, 'pairedWith'],
        message: 'must name an ebs-volume or ec2-instance target of this config (the volume snapshotted in each run)',
      });
    } else if (pairedBy.has(name)) {
      issues.push({
        path: ['targets', index, 'pairedWith'],
        message: `targets[${pairedBy.get(name)}] is already paired with "${name}"; a snapshot target runs with one dump target`,
      });
    } else if (other.schedule !== undefined) {
      issues.push({
        path: ['targets', at, 'schedule'],
        message: `must be left out: this target runs with "${String(target?.name)}" (its pairedWith), on that target's schedule`,
      });
    }
    if (!pairedBy.has(name)) pairedBy.set(name, index);
  });
  return issues;
}

/** The schedule of the dump target a snapshot target is paired with, if any. */
function pairedScheduleOf(config: z.output<typeof configShape>, name: string): Schedule | undefined {
  const dump = config.targets.find((t) => 'pairedWith' in t && t.pairedWith === name);
  return dump && (dump.schedule ?? config.defaults.schedule);
}

type ParsedTarget = z.output<typeof targetSchema>;
type Defaults = z.output<typeof configShape>['defaults'];
type Resolved<T extends ParsedTarget> = T & { schedule: Schedule; alerts: Alerts };

function resolveDefaults(target: ParsedTarget, defaults: Defaults, pairedSchedule?: Schedule): Resolved<ParsedTarget> {
  // A paired snapshot target runs on its dump target's schedule (freshness is judged by it).
  const schedule = pairedSchedule ?? target.schedule ?? defaults.schedule;
  // The superRefine above guarantees a schedule; transforms only run on valid input.
  if (!schedule) throw new Error(`unreachable: target ${target.name} has no schedule`);
  return {
    ...target,
    schedule,
    retention: target.retention ?? defaults.retention,
    alerts: target.alerts ?? defaults.alerts ?? { emails: [] },
  };
}

export type SafekeepConfigInput = z.input<typeof configSchema>;
export type SafekeepConfig = z.output<typeof configSchema>;
export type Target = SafekeepConfig['targets'][number];
export type Schedule = z.output<typeof scheduleSchema>;
export type Retention = z.output<typeof retentionSchema>;
export type Retries = z.output<typeof retriesSchema>;
export type Alerts = z.output<typeof alertsSchema>;
export type Network = z.output<typeof networkSchema>;
export type Writer = z.output<typeof writerSchema>;
export type BucketSettings = z.output<typeof bucketSchema>;
export type DumpTarget = Extract<Target, { kind: DumpTargetKind }>;
export type SnapshotTarget = Extract<Target, { kind: SnapshotTargetKind }>;

export function isDumpTarget(target: Target): target is DumpTarget {
  return (DUMP_KINDS as readonly string[]).includes(target.kind);
}

export function isSnapshotTarget(target: Target): target is SnapshotTarget {
  return (SNAPSHOT_KINDS as readonly string[]).includes(target.kind);
}
