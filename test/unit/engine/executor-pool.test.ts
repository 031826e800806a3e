/**
 * The executor pool starts nothing it should not (issue 10, items 3 and 4): not an attempt whose
 * fire-ahead wait was aborted, and not one whose identity is dead or not known alive.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ExecutorPool, type Dispatch } from '../../../src/engine/executor-pool.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { JobRegistry } from '../../../src/jobs/job-registry.js';
import type { JobContext, UpstreamOutcome } from '../../../src/jobs/job.js';
import type { ExecutionOutcome } from '../../../src/store/execution-store.js';
import { InstanceIdentity } from '../../../src/cluster/instance-identity.js';
import { systemClock, type Clock } from '../../../src/time/clock.js';
import { BelfryError } from '../../../src/errors/belfry-error.js';

const ID = '00000000-0000-4000-8000-000000000001';

/** Monotonic time the test sets by hand (for the identity's view); sleeps are real. */
function manualClock(): Clock & { at: number } {
  const clock = {
    at: 0,
    now: () => systemClock.now(),
    monotonicMs: () => clock.at,
    sleep: systemClock.sleep,
  };
  return clock;
}

function setup(
  options: {
    deadAfterMs?: number;
    jobClass?: unknown;
    upstreamsOf?: (fireId: string) => Promise<UpstreamOutcome[]>;
  } = {},
) {
  const ran: string[] = [];
  class Recording {
    execute(ctx: { fire: { executionId: string } }) {
      ran.push(ctx.fire.executionId);
    }
  }
  const registry = new JobRegistry();
  registry.register({
    name: 'job',
    jobClass: (options.jobClass ?? Recording) as never,
    options: {},
    source: 'code',
  });
  const recorded: ExecutionOutcome[] = [];
  const released: { instanceId: string; executionIds: readonly string[]; note: string }[] = [];
  const identityClock = manualClock();
  const verifications: number[] = [];
  const identity = new InstanceIdentity({
    clock: identityClock,
    deadAfterMs: options.deadAfterMs ?? 10_000,
    sessionGraceMs: 2_000,
    onUnknown: () => verifications.push(identityClock.at),
  });
  identity.sessionUp(0);
  identity.registered(ID, 0);
  const events = new SchedulerEventBus();
  const pool = new ExecutorPool({
    slots: 4,
    registry,
    completions: {
      record: async (outcome) => {
        recorded.push(outcome);
        return true;
      },
      release: async (params) => {
        released.push(params);
        return [...params.executionIds];
      },
    },
    identity,
    events,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    instanceId: () => identity.id,
    ...(options.upstreamsOf ? { upstreamsOf: options.upstreamsOf } : {}),
  });
  const releases: { executionId: string; reason: string; handedBack: boolean }[] = [];
  events.on('execution:released', (e) => releases.push(e));
  return { pool, ran, recorded, released, releases, identity, identityClock, verifications, events };
}

function dispatch(executionId: string, inMs = 0): Dispatch {
  return {
    executionId,
    fireId: executionId,
    attempt: 1,
    trigger: 't',
    group: 'g',
    job: 'job',
    scheduledAt: new Date(0),
    firedAt: new Date(0),
    data: null,
    settings: { timeoutMs: null, maxAttempts: 1, backoff: {}, recover: false },
    traceContext: null,
    notBeforeMono: inMs > 0 ? systemClock.monotonicMs() + inMs : undefined,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('an attempt waiting for its fire-ahead time', () => {
  it('is handed back, not started, when the pool drains during the wait', async () => {
    const { pool, ran, released, releases } = setup();
    pool.run(dispatch('1', 2_000));
    const drained = await pool.drain(50);
    expect(drained.aborted).toBe(0);
    expect(ran).toEqual([]);
    expect(released).toEqual([
      {
        instanceId: ID,
        executionIds: ['1'],
        note: `handed back before it started: instance ${ID} was stopping`,
      },
    ]);
    expect(releases).toMatchObject([{ executionId: '1', handedBack: true, reason: 'replica stopping' }]);
  });

  it('is not started, nor handed back, when its identity is declared dead during the wait', async () => {
    const { pool, ran, released, releases, identity } = setup();
    pool.run(dispatch('2', 2_000));
    identity.fence();
    pool.abortAll(`instance ${ID} was declared dead`);
    await pool.drain(1_000);
    expect(ran).toEqual([]);
    expect(released).toEqual([]);
    expect(releases).toMatchObject([{ executionId: '2', handedBack: false }]);
  });

  it('starts on time when nothing happened meanwhile', async () => {
    const { pool, ran, recorded, events } = setup();
    const finished = new Promise((resolve) => events.on('execution:finished', resolve));
    pool.run(dispatch('3', 30));
    await finished;
    expect(ran).toEqual(['3']);
    expect(recorded.map((outcome) => [outcome.executionId, outcome.status])).toEqual([['3', 'succeeded']]);
  });
});

describe('the identity an attempt was claimed under', () => {
  it('must be alive: work claimed under a dead or an older id never starts', async () => {
    const { pool, ran, identity } = setup();
    identity.fence();
    pool.run(dispatch('4'));
    identity.registered('00000000-0000-4000-8000-000000000002', 0);
    pool.run({ ...dispatch('5'), instanceId: ID });
    await settle();
    expect(ran).toEqual([]);
    expect(pool.inFlight).toBe(0);
  });

  it('past the time the leader could have declared it dead, waits for a check-in before starting', async () => {
    const { pool, ran, identity, identityClock, verifications } = setup({ deadAfterMs: 10_000 });
    // Stalled: no check-in confirmed for longer than dead-after (less the margin).
    identityClock.at = 9_500;
    pool.run(dispatch('6'));
    await settle();
    expect(ran).toEqual([]);
    expect(verifications).toEqual([9_500]); // it asked the membership to check in now
    identity.confirmed(9_500); // the check-in found the instance active
    await settle();
    expect(ran).toEqual(['6']);
  });

  it('past that time, never starts if the check-in finds it dead', async () => {
    const { pool, ran, identity, identityClock, releases } = setup({ deadAfterMs: 10_000 });
    identityClock.at = 60_000;
    pool.run(dispatch('7'));
    await settle();
    identity.fence();
    await settle();
    expect(ran).toEqual([]);
    expect(releases).toMatchObject([
      { executionId: '7', handedBack: false, reason: 'instance declared dead' },
    ]);
    expect(pool.inFlight).toBe(0);
  });

  it('after a session loss, is trusted only for the session grace since the last check-in', async () => {
    const { pool, ran, identity, identityClock } = setup({ deadAfterMs: 10_000 });
    identity.sessionDown();
    identityClock.at = 1_900; // within dead-after, but past the session grace (2 s, less its margin)
    pool.run(dispatch('8'));
    await settle();
    expect(ran).toEqual([]);
    identity.confirmed(1_900);
    await settle();
    expect(ran).toEqual(['8']);
  });
});

describe("a running job's abort reason", () => {
  /** A job that runs until its signal aborts, and keeps the reason. */
  function untilAborted(reasons: unknown[]) {
    return class UntilAborted {
      execute(ctx: JobContext) {
        return new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            resolve();
          }),
        );
      }
    };
  }

  it('is a BelfryError with BELFRY_ERR_JOB_TIMEOUT past its timeout, recorded as timed_out', async () => {
    const reasons: unknown[] = [];
    const { pool, recorded } = setup({ jobClass: untilAborted(reasons) });
    const timed = dispatch('t1');
    pool.run({ ...timed, settings: { ...timed.settings, timeoutMs: 20 } });
    await settle();
    await pool.drain(2_000);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(BelfryError);
    expect(reasons[0]).toMatchObject({ code: 'BELFRY_ERR_JOB_TIMEOUT', message: 'timed out after 20 ms' });
    expect(recorded).toMatchObject([{ executionId: 't1', status: 'timed_out' }]);
  });

  it('is a BelfryError with BELFRY_ERR_SHUTDOWN_DEADLINE when the drain deadline cuts it off', async () => {
    const reasons: unknown[] = [];
    const { pool, recorded } = setup({ jobClass: untilAborted(reasons) });
    pool.run(dispatch('s1'));
    await settle();
    expect((await pool.drain(20)).aborted).toBe(1);
    await settle();
    expect(reasons[0]).toBeInstanceOf(BelfryError);
    expect(reasons[0]).toMatchObject({ code: 'BELFRY_ERR_SHUTDOWN_DEADLINE', name: 'ShutdownAbort' });
    expect(recorded).toEqual([]); // left to recovery
  });
});

describe("a continuation's attempt", () => {
  it('reads its upstreams again after a lost connection, and runs: a killed connection fails no job that never ran', async () => {
    let reads = 0;
    const { pool, ran, recorded } = setup({
      upstreamsOf: async () => {
        reads += 1;
        if (reads === 1) throw new Error('terminating connection due to administrator command');
        return [];
      },
    });
    pool.run(dispatch('c1'));
    await expect
      .poll(() => recorded, { timeout: 5_000 })
      .toMatchObject([{ executionId: 'c1', status: 'succeeded' }]);
    expect(reads).toBe(2);
    expect(ran).toEqual(['c1']);
    await pool.drain(1_000);
  });
});
