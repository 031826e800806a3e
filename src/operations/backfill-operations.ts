/**
 * `belfry backfill TRIGGER --from --to`: the fires of a past window, created on purpose (a window that was
 * paused, or a new trigger's history). The times come from the trigger's own schedule (its calendar
 * included) in [from, to), within its start and end; a time that already has a fire is not created again
 * (UNIQUE (trigger, scheduled time)), so a backfill is idempotent. The fires are marked `backfill` in the
 * history, and their first attempts are throttled: due one every 1/rate seconds from now, oldest first.
 * With `overlap: skip` (the default) a backfilled attempt that comes due while another backfilled run of
 * the trigger still runs is recorded `skipped`; `allow` lets them overlap.
 */
import { BelfryError } from '../errors/belfry-error.js';
import { databaseNow, listCalendars } from '../store/definition-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import { backfillTrigger, insertBackfillFires, missingFireTimes } from '../store/operation-store.js';
import type { CalendarSpec } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';
import { compileSchedule, type ScheduleSpec } from '../time/schedule.js';
import { UnknownNameError } from './name-checks.js';

/** Most fires one backfill creates (split a longer window). */
export const MAX_BACKFILL_FIRES = 10_000;
export const DEFAULT_BACKFILL_RATE = 10;

export class BackfillError extends BelfryError {
  constructor(message: string) {
    super('BELFRY_ERR_BAD_BACKFILL', message);
  }
}

export interface BackfillRequest {
  trigger: string;
  from: Date;
  to: Date;
  overlap?: 'skip' | 'allow';
  /** Attempts started per second at most (default 10). */
  rate?: number;
  dryRun?: boolean;
  /** The replica recording the fires, when one does (the CLI has none). */
  instanceId?: string | null;
}

export interface BackfillResult {
  trigger: string;
  dryRun: boolean;
  /** Scheduled times of the window (the trigger's schedule). */
  scheduled: number;
  /** Times created (a dry run: that would be created); the rest already had a fire. */
  created: Date[];
  alreadyFired: number;
}

export async function backfill(ex: Executor, request: BackfillRequest): Promise<BackfillResult> {
  const overlap = request.overlap ?? 'skip';
  const rate = request.rate ?? DEFAULT_BACKFILL_RATE;
  if (!(rate > 0) || !Number.isFinite(rate))
    throw new BackfillError(`rate must be a positive number, got ${rate}`);
  if (!(request.from.getTime() < request.to.getTime()))
    throw new BackfillError('--from must be earlier than --to');
  return inTransaction(ex, async (tx) => {
    const trigger = await backfillTrigger(tx, { name: request.trigger });
    if (!trigger) throw new UnknownNameError('trigger', request.trigger);
    if (trigger.kind === 'after')
      throw new BackfillError(
        `trigger "${trigger.name}" is a continuation (after:); it has no past fire times`,
      );
    const now = await databaseNow(tx);
    if (request.to.getTime() > now.getTime())
      throw new BackfillError(
        `--to (${request.to.toISOString()}) is in the future; backfill replays the past`,
      );
    const calendars = createCalendarResolver(
      Object.fromEntries((await listCalendars(tx)).map((row) => [row.name, row.spec as CalendarSpec])),
    );
    const schedule = compileSchedule(trigger.spec as ScheduleSpec, { calendars });
    const lower = Math.max(request.from.getTime(), trigger.startAt?.getTime() ?? -Infinity);
    const upper = Math.min(request.to.getTime(), (trigger.endAt?.getTime() ?? Infinity) + 1);
    const times: Date[] = [];
    for (
      let next = schedule.next(new Date(lower - 1));
      next && next.getTime() < upper;
      next = schedule.next(next)
    ) {
      times.push(next);
      if (times.length > MAX_BACKFILL_FIRES)
        throw new BackfillError(
          `the window holds more than ${MAX_BACKFILL_FIRES} fires of "${trigger.name}"; split it`,
        );
    }
    const created = request.dryRun
      ? await missingFireTimes(tx, { triggerId: trigger.id, times })
      : await insertBackfillFires(tx, {
          trigger,
          times,
          overlap,
          spacingMs: 1_000 / rate,
          instanceId: request.instanceId ?? null,
        });
    return {
      trigger: trigger.name,
      dryRun: request.dryRun === true,
      scheduled: times.length,
      created,
      alreadyFired: times.length - created.length,
    };
  });
}
