/**
 * The admin operations behind `belfry pause|resume|fire` and the HTTP API, each one transaction that
 * checks its names first: an unknown trigger, job or group is an error and nothing is written.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  deleteJob,
  deleteTriggers,
  insertOneOffTrigger,
  listJobs,
  listTriggers,
  setTriggersPaused,
  type PauseTarget,
  type StoredTrigger,
} from '../store/definition-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import { parseInstant } from '../time/schedule.js';
import { BelfryError } from '../errors/belfry-error.js';

export class UnknownNameError extends BelfryError {
  constructor(
    readonly kind: 'trigger' | 'job' | 'group',
    readonly unknownName: string,
  ) {
    super('BELFRY_ERR_UNKNOWN_NAME', `unknown ${kind} "${unknownName}"`);
  }
}

/** A malformed fire request (data that is not an object, an instant without an offset). */
export class FireRequestError extends BelfryError {
  constructor(
    message: string,
    readonly field: 'data' | 'at',
  ) {
    super('BELFRY_ERR_BAD_FIRE_REQUEST', message);
  }
}

export const fireRequestSchema = z
  .object({
    data: z
      .record(z.string(), z.unknown())
      .describe("the job's data for this run, merged over the job's defaults")
      .optional(),
    at: z
      .string()
      .describe('when to fire: an ISO 8601 instant with an offset (default: now, by the database clock)')
      .optional(),
  })
  .strict()
  .meta({ id: 'FireRequest' });

export type FireRequest = z.input<typeof fireRequestSchema>;

/** `--data` as given on the command line: a JSON object. */
export function parseFireData(json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new FireRequestError(`data is not valid JSON: ${(error as Error).message}`, 'data');
  }
  const parsed = fireRequestSchema.shape.data.safeParse(value);
  if (!parsed.success || parsed.data === undefined)
    throw new FireRequestError('data must be a JSON object', 'data');
  return parsed.data;
}

export function parseFireAt(at: string | undefined): Date | null {
  if (at === undefined) return null;
  try {
    return parseInstant(at, 'at');
  } catch (error) {
    throw new FireRequestError((error as Error).message, 'at');
  }
}

async function assertTargetExists(ex: Executor, target: PauseTarget): Promise<void> {
  if ('trigger' in target) {
    const [found] = await listTriggers(ex, { names: [target.trigger], includeComplete: true });
    if (!found) throw new UnknownNameError('trigger', target.trigger);
  } else if ('job' in target) {
    if (!(await jobExists(ex, target.job))) throw new UnknownNameError('job', target.job);
  } else if ('group' in target) {
    const triggers = await listTriggers(ex, { group: target.group, includeComplete: true });
    if (triggers.length === 0) throw new UnknownNameError('group', target.group);
  }
}

async function jobExists(ex: Executor, name: string): Promise<boolean> {
  return (await listJobs(ex)).some((job) => job.name === name);
}

/** Pauses or resumes; returns how many triggers changed state (0 when all already were). */
export async function setPaused(
  ex: Executor,
  params: { target: PauseTarget; paused: boolean },
): Promise<number> {
  return inTransaction(ex, async (tx) => {
    await assertTargetExists(tx, params.target);
    return setTriggersPaused(tx, params);
  });
}

/** Creates a one-off trigger for `job` (like `scheduleAt`); returns it as stored, with its fire time. */
export async function fireJob(
  ex: Executor,
  params: { job: string; at: Date | null; data: Record<string, unknown> | null },
): Promise<StoredTrigger> {
  return inTransaction(ex, async (tx) => {
    if (!(await jobExists(tx, params.job))) throw new UnknownNameError('job', params.job);
    const name = `${params.job}.once.${randomUUID()}`;
    await insertOneOffTrigger(tx, {
      name,
      job: params.job,
      group: 'one-off',
      at: params.at,
      data: params.data,
    });
    const [trigger] = await listTriggers(tx, { names: [name], includeComplete: true });
    return trigger!;
  });
}

export async function getTrigger(ex: Executor, name: string): Promise<StoredTrigger> {
  const [trigger] = await listTriggers(ex, { names: [name], includeComplete: true });
  if (!trigger) throw new UnknownNameError('trigger', name);
  return trigger;
}

/** Deletes a trigger; its fires keep their history (their trigger reference is cleared). */
export async function removeTrigger(ex: Executor, name: string): Promise<void> {
  await inTransaction(ex, async (tx) => {
    if ((await deleteTriggers(tx, { names: [name] })) === 0) throw new UnknownNameError('trigger', name);
  });
}

/** Deletes a job and its triggers; returns how many triggers went with it. History is kept. */
export async function removeJob(ex: Executor, name: string): Promise<{ triggers: number }> {
  return inTransaction(ex, async (tx) => {
    const triggers = await listTriggers(tx, { job: name, includeComplete: true });
    if (!(await deleteJob(tx, { name }))) throw new UnknownNameError('job', name);
    return { triggers: triggers.length };
  });
}
