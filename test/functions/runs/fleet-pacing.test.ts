/**
 * The fleet pacing's rules on their own: room in the vCPU quota, the launch rate, repeated deliveries, the
 * deferral backoff, and which refusals mean "not now". The ledger is an in-memory one with the same version
 * check as the DynamoDB item; the clock is fake and sleeping moves it.
 */
import { describe, expect, it } from 'vitest';
import {
  admitStart,
  deferralDelayMs,
  type FleetContext,
  isNotNow,
  isNotNowError,
  type LaunchLedger,
  type Lease,
  releaseStart,
  type TaskInFlight,
} from '#functions/runs/fleet-pacing.ts';

function memoryLedger(): LaunchLedger & { leases: () => readonly Lease[] } {
  let state = { version: 0, leases: [] as readonly Lease[] };
  return {
    leases: () => state.leases,
    async read() {
      return state;
    },
    async write(leases, version) {
      if (version !== state.version) return false;
      state = { version: version + 1, leases };
      return true;
    },
  };
}

function fleetOf(options: { quota?: number; tasks?: TaskInFlight[]; rate?: number }) {
  let clock = Date.parse('2026-12-01T03:00:00Z');
  const ledger = memoryLedger();
  const fleet: FleetContext = {
    ports: {
      fargateVcpuQuota: async () => options.quota,
      tasksInFlight: async () => ({ at: clock, tasks: [...(options.tasks ?? [])] }),
      ledger,
      deferStart: async () => {},
    },
    limits: { taskVcpus: 1, launchesPerSecond: options.rate ?? 20 },
    // A fake timer: a sleeper wakes at its own time, and the clock is never turned back by an earlier one.
    sleep: async (ms) => {
      const wake = clock + ms;
      await Promise.resolve();
      clock = Math.max(clock, wake);
    },
    random: () => 0.5,
  };
  return { fleet, ledger, now: () => new Date(clock), pass: (ms: number) => (clock += ms) };
}

describe('admitStart', () => {
  it('admits starts while the quota has room, counting the tasks ECS lists and the starts admitted before', async () => {
    // Prepare: 8 vCPUs, 5 held by tasks (one of them a Safekeep run), none admitted yet.
    const tasks = [{ run: 'a/r1', vcpus: 1 }, { vcpus: 4 }];
    const { fleet, now } = fleetOf({ quota: 8, tasks });

    // Act
    const outcomes = [];
    for (const run of ['b/r1', 'c/r1', 'd/r1', 'e/r1']) outcomes.push(await admitStart(run, 0, 'cluster', now, fleet));

    // Assess: 3 vCPUs were free.
    expect(outcomes.map((o) => o.status)).toEqual(['admitted', 'admitted', 'admitted', 'no-room']);
    expect(outcomes[3]).toMatchObject({ reason: "the account's Fargate vCPU quota is in use (8 of 8 vCPUs)" });
  });

  it('counts a start once it is listed by ECS, not twice', async () => {
    const tasks: TaskInFlight[] = [];
    const { fleet, now } = fleetOf({ quota: 2, tasks });
    expect((await admitStart('a/r1', 0, 'cluster', now, fleet)).status).toBe('admitted');
    tasks.push({ run: 'a/r1', vcpus: 1 }); // its task is listed now, and its lease is still held
    expect((await admitStart('b/r1', 0, 'cluster', now, fleet)).status).toBe('admitted');
    expect((await admitStart('c/r1', 0, 'cluster', now, fleet)).status).toBe('no-room');
  });

  it('falls back to a small quota when Service Quotas cannot be read', async () => {
    const { fleet, now } = fleetOf({ quota: undefined });
    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push((await admitStart(`t${i}/r`, 0, 'cluster', now, fleet)).status);
    expect(outcomes.filter((s) => s === 'admitted')).toHaveLength(6);
  });

  it('keeps to the launch rate across concurrent dispatchers: the rest wait for the next second', async () => {
    // Prepare: room for all, a rate of 20 a second, 50 dispatchers at once.
    const { fleet, ledger, now } = fleetOf({ quota: 1000, rate: 20 });

    // Act
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => admitStart(`t${i}/r`, 0, 'cluster', now, fleet)));

    // Assess: all admitted, never more than 20 in any second.
    expect(outcomes.every((o) => o.status === 'admitted')).toBe(true);
    const times = ledger.leases().map((lease) => lease.at);
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest).toBeLessThanOrEqual(20);
  });

  it('finds a repeated delivery of a start: by its lease, and by its task once ECS lists it', async () => {
    const tasks: TaskInFlight[] = [];
    const { fleet, now } = fleetOf({ quota: 10, tasks });
    expect((await admitStart('a/r1', 2, 'cluster', now, fleet)).status).toBe('admitted');
    expect((await admitStart('a/r1', 2, 'cluster', now, fleet)).status).toBe('already-started');
    tasks.push({ run: 'a/r1', vcpus: 1 });
    expect((await admitStart('a/r1', 3, 'cluster', now, fleet)).status).toBe('already-started');
  });

  it('never pairs a listing older than the leases of what it misses: a slow listing is deferred', async () => {
    // Prepare: 2 vCPUs. Dispatcher A asks for the cluster's tasks while none runs, and its listing takes 45 s
    // (throttled and retried). Meanwhile X is admitted and starts, and B, listing X, drops X's lease and takes
    // the last vCPU.
    const tasks: TaskInFlight[] = [];
    const { fleet, now, pass } = fleetOf({ quota: 2, tasks });
    let arrive = () => {};
    const slowListing = fleet.ports
      .tasksInFlight('cluster')
      .then((listing) => new Promise<typeof listing>((resolve) => (arrive = () => resolve(listing))));
    const a = admitStart('a/r1', 0, 'cluster', now, { ...fleet, ports: { ...fleet.ports, tasksInFlight: () => slowListing } });
    expect((await admitStart('x/r1', 0, 'cluster', now, fleet)).status).toBe('admitted');
    tasks.push({ run: 'x/r1', vcpus: 1 });
    pass(45_000);
    expect((await admitStart('b/r1', 0, 'cluster', now, fleet)).status).toBe('admitted');
    tasks.push({ run: 'b/r1', vcpus: 1 });

    // Act: A's listing arrives, 45 s old. X is in neither it nor the ledger any more: A must not count on it.
    arrive();

    // Assess
    expect(await a).toEqual({ status: 'no-room', reason: "the cluster's tasks could not be listed in time" });
  });

  it('asks for a new listing when its own has grown old, and counts what the new one lists', async () => {
    // Prepare: 2 vCPUs; A's first listing is from before X and Y started, and 25 s old when it arrives.
    const tasks: TaskInFlight[] = [];
    const { fleet, now, pass } = fleetOf({ quota: 2, tasks });
    let listings = 0;
    const ports = {
      ...fleet.ports,
      tasksInFlight: async (cluster: string) => {
        const listing = await fleet.ports.tasksInFlight(cluster);
        if (listings++ === 0) {
          tasks.push({ run: 'x/r1', vcpus: 1 }, { run: 'y/r1', vcpus: 1 });
          pass(25_000);
        }
        return listing;
      },
    };

    // Act
    const outcome = await admitStart('a/r1', 0, 'cluster', now, { ...fleet, ports });

    // Assess: A listed again, saw X and Y, and found no room.
    expect(listings).toBe(2);
    expect(outcome).toEqual({ status: 'no-room', reason: "the account's Fargate vCPU quota is in use (2 of 2 vCPUs)" });
  });

  it('gives the vCPUs of a start that failed back at once', async () => {
    const { fleet, ledger, now } = fleetOf({ quota: 1 });
    const first = await admitStart('a/r1', 0, 'cluster', now, fleet);
    expect((await admitStart('b/r1', 0, 'cluster', now, fleet)).status).toBe('no-room');
    if (first.status !== 'admitted') throw new Error('not admitted');
    await releaseStart(first.lease, fleet);
    expect(ledger.leases()).toEqual([]);
    expect((await admitStart('b/r1', 0, 'cluster', now, fleet)).status).toBe('admitted');
  });
});

describe('deferralDelayMs', () => {
  it('doubles from a minute up to 15 minutes, with half of it jittered', () => {
    const limits = { taskVcpus: 1 };
    expect([1, 2, 3, 4, 5, 9].map((n) => deferralDelayMs(n, limits, () => 1) / 1000)).toEqual([60, 120, 240, 480, 900, 900]);
    expect(deferralDelayMs(1, limits, () => 0)).toBe(30_000);
  });
});

describe('isNotNow', () => {
  it.each([
    ['Capacity is unavailable at this time. Please try again later or in a different availability zone', true],
    ["You've reached the limit on the number of vCPUs you can run concurrently", true],
    ['RESOURCE:MEMORY', true],
    ['Rate exceeded', true],
    ['MISSING', false],
    ['Unable to find task definition', false],
  ])('%s: %s', (reason, expected) => {
    expect(isNotNow(reason)).toBe(expected);
  });

  it('tells throttling and limit errors from others', () => {
    const error = (name: string, message: string) => Object.assign(new Error(message), { name });
    expect(isNotNowError(error('ThrottlingException', 'Rate exceeded'))).toBe(true);
    expect(isNotNowError(error('LimitExceededException', 'too many'))).toBe(true);
    expect(isNotNowError(error('InvalidParameterException', 'subnet not found'))).toBe(false);
  });
});
