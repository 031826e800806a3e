/**
 * Firing a job once: a one-off trigger, recorded and fired exactly like any other. Also the parsing of a
 * fire request's data and instant, shared by `POST /api/v1/jobs/:name/fire` and `belfry fire`.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { BelfryError } from '../errors/belfry-error.js';
import { insertOneOffTrigger, type StoredTrigger } from '../store/definition-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import { recordFiresNow } from '../store/fire-now-store.js';
import { parseInstant } from '../time/schedule.js';
import { requireTrigger, unknownJobFromForeignKey } from './name-checks.js';

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

export interface OneOffFire {
  job: string;
  /** null: now, by the database clock. */
  at: Date | null;
  data: Record<string, unknown> | null;
}

/**
 * Writes the one-off trigger and returns its name. The insert is the name check: its job reference
 * refuses an unknown job (UnknownNameError) and nothing is written, at no extra round trip.
 *
 * Now (`at` null): the trigger is written already fired, with its fire and a pending first attempt that a
 * replica claims in one statement (`recordFiresNow`, decision 0010); a paused or `concurrency: forbid`
 * job's one-off waits for the planner instead. At an instant: a waiting one-off the planner fires.
 */
export async function scheduleOneOff(ex: Executor, fire: OneOffFire): Promise<string> {
  const name = `${fire.job}.once.${randomUUID()}`;
  try {
    if (fire.at === null)
      await recordFiresNow(ex, { job: fire.job, group: 'one-off', items: [{ name, data: fire.data }] });
    else
      await insertOneOffTrigger(ex, { name, job: fire.job, group: 'one-off', at: fire.at, data: fire.data });
  } catch (error) {
    throw unknownJobFromForeignKey(error, fire.job);
  }
  return name;
}

/**
 * `fireNow` for a list: one one-off per data item, all written in one statement with one NOTIFY
 * (`recordFiresNow`), as graphile-worker's `addJobs` and River's `InsertMany` batch theirs; returns the
 * triggers' names in the order of `data`. An unknown job writes nothing (UnknownNameError).
 */
export async function fireNowMany(
  ex: Executor,
  params: { job: string; data: readonly (Record<string, unknown> | null)[] },
): Promise<string[]> {
  if (params.data.length === 0) return [];
  const items = params.data.map((data) => ({ name: `${params.job}.once.${randomUUID()}`, data }));
  try {
    await recordFiresNow(ex, { job: params.job, group: 'one-off', items });
  } catch (error) {
    throw unknownJobFromForeignKey(error, params.job);
  }
  return items.map((item) => item.name);
}

/**
 * `scheduleOneOff`, returning the trigger as stored and its fire time, for the API and the CLI. A fire
 * now is already recorded (decision 0010): its time is the trigger's previous fire, not a next one.
 */
export async function fireJob(ex: Executor, fire: OneOffFire): Promise<{ trigger: StoredTrigger; at: Date }> {
  return inTransaction(ex, async (tx) => {
    const trigger = await requireTrigger(tx, await scheduleOneOff(tx, fire));
    return { trigger, at: (trigger.nextFireAt ?? trigger.previousFireAt)! };
  });
}
