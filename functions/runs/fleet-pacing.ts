/**
 * Pacing a fleet's Fargate starts. Every target has its own schedule, so 500 targets on one cron are 500
 * dispatcher invocations in the same second, each about to call RunTask. A start is admitted only when
 * - the account's Fargate On-Demand vCPU quota, read at run time, has room for the task beside the tasks
 *   holding vCPUs in the cluster now and the starts other dispatchers were admitted a moment ago, and
 * - fewer than `launchesPerSecond` starts were admitted in the last second and a quarter: ECS's RunTask rate on
 *   Fargate, with room for the moments between an admission and its call.
 * Admissions are shared through one launch ledger, written with a version check, so two dispatchers can
 * never both take the last vCPU or the last launch of a second. A start over the rate waits a moment in
 * process; a start with no vCPUs left, or one ECS refuses for capacity or throttling, is deferred: started
 * again later, the same run, with backoff and jitter, until `maxWaitMinutes` after the run began. Then it is
 * recorded as failed (BackupFailed, the failure alarm): never lost, never silently dropped.
 */
import type { RunRecord } from './run-record.ts';

/**
 * Fargate launches tasks at 20 per second (a bucket of 100, refilled at 20/s), and RunTask calls on Fargate
 * are limited to 20 per second, burst and sustained, per account and region:
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html ("AWS Fargate throttling quotas").
 */
export const FARGATE_RUN_TASK_PER_SECOND = 20;

/**
 * Starts are counted over a second and a quarter, not a second: a start calls RunTask a moment after it was
 * admitted (the ledger write, a busy process), and the margin keeps those late calls from bunching more than
 * the rate into one second of ECS's bucket (a fleet paced over exactly one second had 92 to 260 of about 800
 * calls refused).
 */
const RATE_WINDOW_MS = 1250;

/** Service Quotas' code of "Fargate On-Demand vCPU resource count" (service code "fargate"). */
export const FARGATE_ON_DEMAND_VCPU_QUOTA = { serviceCode: 'fargate', quotaCode: 'L-3032A538' } as const;

/** One admitted start, kept in the ledger until its task is listed by ECS or `leaseSeconds` have passed. */
export interface Lease {
  /** `<target>/<run id>/<deferral>`: one start of one run; a repeated delivery finds its own key. */
  readonly key: string;
  readonly vcpus: number;
  /** When it was admitted (ms since the epoch). */
  readonly at: number;
}

export interface LaunchLedger {
  read(): Promise<{ readonly version: number; readonly leases: readonly Lease[] }>;
  /** Replaces the leases if nobody wrote since `version` was read; false when another dispatcher did. */
  write(leases: readonly Lease[], version: number): Promise<boolean>;
}

/**
 * A listing is counted on for at most this long after it was asked for. The ledger drops the lease of a
 * listed task `LISTING_LIFE_MS` after its admission; a dispatcher whose listing is older than the task would
 * then count it nowhere. So a listing is refused past this age (checked after the ledger read it is paired
 * with: a drop written later fails that dispatcher's versioned write), and the life adds 20 s for a RunTask
 * called late after its admission and for the clocks of different dispatchers.
 */
const LISTING_MAX_AGE_MS = 20_000;
const LISTING_LIFE_MS = LISTING_MAX_AGE_MS + 20_000;

/** The cluster's tasks holding vCPUs, and when they were asked for (ms since the epoch). */
export interface TaskListing {
  readonly at: number;
  readonly tasks: readonly TaskInFlight[];
}

/** A task holding vCPUs (desired status RUNNING: provisioning, pending or running). */
export interface TaskInFlight {
  /** `<target>/<run id>` of a Safekeep task, from its overrides; undefined for any other task. */
  readonly run?: string;
  readonly vcpus: number;
}

/** What the dispatcher is handed when a deferred start is due: the same run, started again. */
export interface DeferredStart {
  readonly target: string;
  readonly trigger: RunRecord['trigger'];
  readonly runId: string;
  /** How many times this start has been deferred, this one included. */
  readonly deferral: number;
  readonly retryOf?: string;
  readonly attempt?: number;
}

export interface FleetPorts {
  /** The account's Fargate On-Demand vCPU quota, or undefined when it cannot be read (then the fallback). */
  fargateVcpuQuota(): Promise<number | undefined>;
  /** The listing's `at` is on the same clock as the dispatcher's `now`. */
  tasksInFlight(cluster: string): Promise<TaskListing>;
  readonly ledger: LaunchLedger;
  /** Arranges for `start` to reach the dispatcher at `at`; arranging the same deferral twice is harmless. */
  deferStart(start: DeferredStart, at: Date): Promise<void>;
}

export interface FleetLimits {
  /** vCPUs of one dump task. */
  readonly taskVcpus: number;
  /** @default FARGATE_RUN_TASK_PER_SECOND */
  readonly launchesPerSecond?: number;
  /**
   * The vCPU quota assumed when Service Quotas cannot be read.
   * @default 6 (the quota of a new account; an older one has more, so this errs on the slow side)
   */
  readonly fallbackVcpuQuota?: number;
  /** @default 120 (ECS lists a task as soon as RunTask returns; this covers the moments in between) */
  readonly leaseSeconds?: number;
  /**
   * Fargate targets in the deployment: a first start waits a random moment of up to `fargateTargets /
   * launchesPerSecond` seconds (at most 60) before it asks, so a whole fleet firing at once arrives at about
   * the launch rate instead of all contending for the ledger in the same instant.
   * @default 1 (no spreading)
   */
  readonly fargateTargets?: number;
  /** How long one dispatcher waits in process for the launch rate before it defers instead. @default 30 */
  readonly rateWaitSeconds?: number;
  /** The first deferral's delay; each next one doubles, up to `deferMaxSeconds`. @default 60 */
  readonly deferBaseSeconds?: number;
  /** @default 900 */
  readonly deferMaxSeconds?: number;
  /** A start still deferred this long after its run began is recorded as failed. @default 360 */
  readonly maxWaitMinutes?: number;
}

export interface FleetContext {
  readonly ports: FleetPorts;
  readonly limits: FleetLimits;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

export type Admission =
  | { readonly status: 'admitted'; readonly lease: Lease }
  | { readonly status: 'already-started' }
  | { readonly status: 'no-room'; readonly reason: string };

/** Asks for room to start one task of `run` (`<target>/<run id>`) in `cluster`. */
export async function admitStart(
  run: string,
  deferral: number,
  cluster: string,
  now: () => Date,
  fleet: FleetContext,
): Promise<Admission> {
  const { ports, limits } = fleet;
  const rate = limits.launchesPerSecond ?? FARGATE_RUN_TASK_PER_SECOND;
  // Deferred starts come due spread by their jitter already; first starts of a fleet are spread here.
  if (deferral === 0 && (limits.fargateTargets ?? 1) > rate) {
    await fleet.sleep(fleet.random() * Math.min(60_000, ((limits.fargateTargets ?? 1) / rate) * 1000));
  }
  const leaseMs = (limits.leaseSeconds ?? 120) * 1000;
  const giveUpAt = now().getTime() + (limits.rateWaitSeconds ?? 30) * 1000;
  const quota = (await ports.fargateVcpuQuota()) ?? limits.fallbackVcpuQuota ?? 6;
  let listing = await ports.tasksInFlight(cluster);
  const key = `${run}/${deferral}`;
  for (let attempt = 0; ; attempt++) {
    if (listing.tasks.some((task) => task.run === run)) return { status: 'already-started' };
    const at = now().getTime();
    const { version, leases } = await ports.ledger.read();
    if (leases.some((lease) => lease.key === key)) return { status: 'already-started' };
    if (now().getTime() - listing.at > LISTING_MAX_AGE_MS) {
      // Too old to pair with this ledger: the leases of tasks it misses may be gone (a slow or throttled
      // listing, a long wait). Ask again while the wait allows; past it, defer.
      if (now().getTime() >= giveUpAt) return { status: 'no-room', reason: "the cluster's tasks could not be listed in time" };
      listing = await ports.tasksInFlight(cluster);
      continue;
    }
    const listed = new Set(listing.tasks.map((task) => task.run));
    const running = listing.tasks.reduce((sum, task) => sum + task.vcpus, 0);
    // A lease whose task ECS lists is counted there, not twice. Once no dispatcher can still hold a listing
    // older than the task, a listed lease is dropped, so a task that ended soon after frees its vCPUs then,
    // not only when its lease expires.
    const kept = leases.filter(
      (lease) => lease.at > at - leaseMs && !(listed.has(runOfLease(lease.key)) && lease.at <= at - LISTING_LIFE_MS),
    );
    const admitted = kept.filter((lease) => !listed.has(runOfLease(lease.key))).reduce((sum, lease) => sum + lease.vcpus, 0);
    if (running + admitted + limits.taskVcpus > quota) {
      return {
        status: 'no-room',
        reason: `the account's Fargate vCPU quota is in use (${running + admitted} of ${quota} vCPUs)`,
      };
    }
    const lastSecond = kept.filter((lease) => lease.at > at - RATE_WINDOW_MS);
    if (lastSecond.length < rate) {
      const lease: Lease = { key, vcpus: limits.taskVcpus, at };
      if (await ports.ledger.write([...kept, lease], version)) return { status: 'admitted', lease };
    }
    if (at >= giveUpAt) return { status: 'no-room', reason: `more than ${rate} starts a second are waiting for ECS` };
    // Over the rate, or another dispatcher wrote first: wait until the oldest launch of the second ages out,
    // spread by jitter so the waiting dispatchers do not all come back at once.
    const oldest = lastSecond.length >= rate ? Math.min(...lastSecond.map((lease) => lease.at)) + RATE_WINDOW_MS - at : 0;
    await fleet.sleep(Math.max(oldest, 0) + fleet.random() * Math.min(1000, 25 * 2 ** attempt));
  }
}

/** Gives a lease back (its start failed), so its vCPUs are free before the lease would expire. */
export async function releaseStart(lease: Lease, fleet: FleetContext): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { version, leases } = await fleet.ports.ledger.read();
    if (!leases.some((held) => held.key === lease.key)) return;
    if (
      await fleet.ports.ledger.write(
        leases.filter((held) => held.key !== lease.key),
        version,
      )
    )
      return;
    await fleet.sleep(fleet.random() * 50 * 2 ** attempt);
  }
  // Not given back: it expires after leaseSeconds, erring on the side of fewer tasks.
}

/** When a deferred start is due: exponential from `deferBaseSeconds`, capped, half of it jittered. */
export function deferralDelayMs(deferral: number, limits: FleetLimits, random: () => number): number {
  const ceiling = Math.min(limits.deferMaxSeconds ?? 900, (limits.deferBaseSeconds ?? 60) * 2 ** (deferral - 1)) * 1000;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * ECS's words for "not now" (capacity or throttling), in a RunTask failure or error: such a start is deferred.
 * Anything else (a missing task definition, a bad subnet) fails the run at once.
 */
const NOT_NOW = [
  /capacity is unavailable/i,
  /limit on the number of vcpus/i,
  /vcpu limit/i,
  /rate exceeded/i,
  /throttl/i,
  /RESOURCE:/i,
  /LimitExceeded/i,
  /ServerException/i,
];

export function isNotNow(reason: string): boolean {
  return NOT_NOW.some((pattern) => pattern.test(reason));
}

export function isNotNowError(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return isNotNow(`${name ?? ''}: ${message ?? ''}`);
}

function runOfLease(key: string): string {
  return key.slice(0, key.lastIndexOf('/'));
}
