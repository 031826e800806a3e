/** Listener hooks on a running scheduler (real PostgreSQL): veto recorded as history, throwing and slow listeners, order. */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { ExecutionInfo } from '../../../src/listeners/listener.js';

const database = useTestSchema();
let scheduler: Scheduler | undefined;
const ex = () => ({ db: database.db, schema: database.schema });

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

let runs = 0;
class Counted {
  execute() {
    runs += 1;
    return { ok: true };
  }
}

async function historyOf(executionId: string) {
  const { rows } = await sql<{ status: string; error: string | null; attempt: number }>`
    SELECT status, error, attempt FROM ${sql.table(`${database.schema}.job_history`)} WHERE execution_id = ${executionId}`.execute(
    database.db,
  );
  return rows[0];
}

describe('trigger listener veto', () => {
  it('records a vetoed execution as `vetoed` with the listener name, and the job does not run', async () => {
    await defineJob(ex(), 'guarded');
    scheduler = testScheduler(database).registerJob('guarded', Counted);
    const vetoed: ExecutionInfo[] = [];
    scheduler.addTriggerListener(
      { name: 'maintenance-window', vetoJobExecution: async () => true },
      { name: 'guarded.once.*' },
    );
    scheduler.addJobListener({
      name: 'watcher',
      jobExecutionVetoed: (e, veto) => void vetoed.push({ ...e, trigger: veto.listener }),
    });
    await scheduler.start();
    runs = 0;
    const event = waitForEvents(scheduler, 'execution:vetoed', 1);
    await scheduler.fireNow('guarded');
    const [payload] = await event;
    expect(payload).toMatchObject({ listener: 'maintenance-window', recorded: true, job: 'guarded' });
    expect(runs).toBe(0);
    await scheduler.stop();
    expect(await historyOf(payload!.executionId)).toEqual({
      status: 'vetoed',
      error: 'maintenance-window',
      attempt: 1,
    });
    expect(vetoed.map((e) => e.trigger)).toEqual(['maintenance-window']);
  });

  it('does not veto when the matcher does not select the trigger', async () => {
    await defineJob(ex(), 'free');
    scheduler = testScheduler(database).registerJob('free', Counted);
    scheduler.addTriggerListener(
      { name: 'veto-reports', vetoJobExecution: () => true },
      { group: 'reports' },
    );
    await scheduler.start();
    const finished = waitForEvents(scheduler, 'execution:finished', 1);
    await scheduler.fireNow('free'); // group one-off
    expect((await finished)[0]!.status).toBe('succeeded');
  });
});

describe('listener safety', () => {
  it('keeps scheduling when a listener throws or hangs past its timeout; logs and counts both', async () => {
    await defineJob(ex(), 'sturdy');
    scheduler = testScheduler(database, { listenerTimeoutMs: 100 }).registerJob('sturdy', Counted);
    const order: string[] = [];
    scheduler.addJobListener({
      name: 'thrower',
      jobToBeExecuted: () => {
        throw new Error('listener bug');
      },
    });
    scheduler.addJobListener({ name: 'hangs', jobWasExecuted: () => new Promise<void>(() => {}) });
    scheduler.addJobListener({
      name: 'recorder',
      jobToBeExecuted: (e) => void order.push(`${e.executionId} to-be:${e.attempt}`),
      jobWasExecuted: (e, result) => void order.push(`${e.executionId} was:${result.status}`),
    });
    scheduler.addTriggerListener({
      name: 'trigger-recorder',
      triggerFired: (e) => void order.push(`${e.executionId} fired`),
      vetoJobExecution: (e) => (order.push(`${e.executionId} veto?`), false),
      triggerComplete: (e) => void order.push(`${e.executionId} complete`),
    });
    const failures = waitForEvents(scheduler, 'listener:failed', 4);
    await scheduler.start();
    runs = 0;
    const finished = waitForEvents(scheduler, 'execution:finished', 2);
    await scheduler.fireNow('sturdy');
    await scheduler.fireNow('sturdy');
    expect((await finished).map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    const failed = await failures;
    expect(failed.map((f) => `${f.listener}.${f.hook}:${f.timedOut}`).sort()).toEqual([
      'hangs.jobWasExecuted:true',
      'hangs.jobWasExecuted:true',
      'thrower.jobToBeExecuted:false',
      'thrower.jobToBeExecuted:false',
    ]);
    expect(runs).toBe(2);
    await scheduler.stop();
    // Each execution's hooks in Quartz order; the hung hook delayed but did not stop the ones after it.
    const executions = [...new Set(order.map((x) => x.split(' ')[0]!))];
    expect(executions).toHaveLength(2);
    for (const id of executions) {
      expect(order.filter((x) => x.startsWith(`${id} `)).map((x) => x.split(' ')[1])).toEqual([
        'fired',
        'veto?',
        'to-be:1',
        'was:succeeded',
        'complete',
      ]);
    }
  });

  it('tells scheduler listeners about start, leadership, pause/resume and shutdown', async () => {
    await defineJob(ex(), 'paused-job');
    scheduler = testScheduler(database).registerJob('paused-job', Counted);
    const seen: string[] = [];
    scheduler.addSchedulerListener({
      name: 'ops',
      schedulerStarted: () => void seen.push('started'),
      instanceJoined: () => void seen.push('joined'),
      leaderElected: () => void seen.push('leader'),
      triggerPaused: (e) => void seen.push(`paused:${e.target.job}:${e.count}`),
      triggerResumed: (e) => void seen.push(`resumed:${e.target.job}`),
      schedulerShuttingDown: async () => {
        await new Promise((r) => setTimeout(r, 10));
        seen.push('shutting-down');
      },
    });
    const leader = waitForEvents(scheduler, 'leader:elected', 1);
    await scheduler.start();
    await leader;
    await scheduler.pause({ job: 'paused-job' });
    await scheduler.resume({ job: 'paused-job' });
    await scheduler.stop();
    expect(seen).toEqual(
      expect.arrayContaining([
        'joined',
        'started',
        'leader',
        'paused:paused-job:0',
        'resumed:paused-job',
        'shutting-down',
      ]),
    );
    expect(seen.at(-1)).toBe('shutting-down');
  });
});
