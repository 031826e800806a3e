/**
 * Preview: the next N fires of a schedule from an instant (exclusive), each with what the calendar did
 * on the way: the days whose fires were skipped, and the move that put this fire where it is. Pure: the
 * CLI (`belfry next`) and the API pass "now" in. It calls the same `explainNext` as `next`, so a preview
 * shows exactly what the engine fires.
 */
import { pad2, formatLocalMs } from './civil.js';
import type { FireDetail } from './excluded-day-policy.js';
import type { CompiledSchedule } from './schedule.js';
import { ZoneRules } from './zone-rules.js';

export interface PreviewExclusion {
  calendar: string;
  reason: string;
}

export interface PreviewSkippedDay extends PreviewExclusion {
  /** Local date in the schedule's zone. */
  date: string;
  /** How many fires that day were skipped, and the first of them. */
  fires: number;
  firstFire: string;
}

export interface PreviewFire {
  /** The instant, ISO 8601 UTC. */
  at: string;
  /** The local time with its offset in the schedule's zone. */
  local: string;
  /** Set when the fire was moved off an excluded day. */
  movedFrom?: PreviewExclusion & { at: string; local: string; rule: string };
  /** Days skipped since the previous fire (only when there were any). */
  skipped?: PreviewSkippedDay[];
}

export interface PreviewOptions {
  /** Exclusive start. */
  from: Date;
  count: number;
  /** Zone for `local`; default the schedule's. */
  timezone?: string;
}

export function previewSchedule(schedule: CompiledSchedule, options: PreviewOptions): PreviewFire[] {
  const zone = ZoneRules.for(options.timezone ?? schedule.timezone);
  const fires: PreviewFire[] = [];
  let after = options.from;
  while (fires.length < options.count) {
    const detail = schedule.explainNext(after);
    if (!detail) break;
    fires.push(previewFireOf(detail, zone));
    after = new Date(detail.at);
  }
  return fires;
}

/** One fire as a preview shows it (also what `simulate` in belfry/testing reports per fire). */
export function previewFireOf(detail: FireDetail, zone: ZoneRules): PreviewFire {
  const fire: PreviewFire = { at: new Date(detail.at).toISOString(), local: formatZoned(detail.at, zone) };
  if (detail.moved) {
    fire.movedFrom = {
      at: new Date(detail.moved.from).toISOString(),
      local: formatZoned(detail.moved.from, zone),
      rule: detail.moved.rule,
      calendar: detail.moved.exclusion.calendar,
      reason: detail.moved.exclusion.reason,
    };
  }
  if (detail.skipped.length > 0) {
    fire.skipped = detail.skipped.map((day) => ({
      date: day.date,
      fires: day.fires,
      firstFire: new Date(day.firstFire).toISOString(),
      calendar: day.exclusion.calendar,
      reason: day.exclusion.reason,
    }));
  }
  return fire;
}

/** `2030-03-31T09:00:00+02:00` */
export function formatZoned(ms: number, zone: ZoneRules): string {
  const offset = zone.offsetAt(ms);
  const minutes = Math.round(Math.abs(offset) / 60_000);
  const sign = offset < 0 ? '-' : '+';
  return `${formatLocalMs(ms + offset)}${sign}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`;
}

/** One line of text per fire, for terminals. */
export function formatPreviewLine(fire: PreviewFire): string {
  const notes: string[] = [];
  if (fire.movedFrom) {
    notes.push(
      `moved from ${fire.movedFrom.local} (${fire.movedFrom.rule}: ${fire.movedFrom.reason}, calendar ${fire.movedFrom.calendar})`,
    );
  }
  for (const day of fire.skipped ?? []) {
    notes.push(
      `skipped ${day.date}${day.fires > 1 ? ` (${day.fires} fires)` : ''}: ${day.reason}, calendar ${day.calendar}`,
    );
  }
  return `${fire.at}  ${fire.local}${notes.length > 0 ? `  ${notes.join('; ')}` : ''}`;
}
