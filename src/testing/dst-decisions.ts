/**
 * What a wall-clock schedule's DST policy decided at each transition in a window, found with the engine's
 * own schedules: the trigger's spec is compiled again with the other policy (`gap: skip` against
 * `shift-forward`, `overlap: twice` against `once`), and where the two differ at a transition, the
 * policy decided. Nothing here re-implements the DST rules (time/wall-clock-schedule.ts owns them).
 *
 * - spring gap, `shift-forward`: a local time that does not exist fired at the first instant after the
 *   gap (`shifted-forward`); under `skip` it did not fire (`skipped`).
 * - autumn overlap, `once`: a local time that happens twice fired the first time only; the second
 *   occurrence is reported `skipped-repeat`; under `twice` the second occurrence fired (`repeated`).
 */
import type { CalendarResolver } from '../time/calendar.js';
import { formatZoned } from '../time/preview.js';
import { compileSchedule, type ScheduleSpec, type WallClockOptions } from '../time/schedule.js';
import { DEFAULT_DST_POLICY } from '../time/wall-clock-schedule.js';
import { ZoneRules } from '../time/zone-rules.js';

export interface DstDecision {
  trigger: string;
  /** The transition: the first instant with the new offset. */
  transition: Date;
  kind: 'gap' | 'overlap';
  policy: string;
  decision: 'shifted-forward' | 'skipped' | 'repeated' | 'skipped-repeat';
  /** The instant concerned: the fire, or where the skipped one would have been. */
  at: Date;
  /** `at` in the trigger's zone, with its offset. */
  local: string;
  note: string;
}

type WallClockSpec = ScheduleSpec & WallClockOptions & { timezone: string };

function isWallClock(spec: ScheduleSpec): spec is WallClockSpec {
  return 'timezone' in spec && typeof spec.timezone === 'string';
}

/** Times of a schedule in [fromMs, toMs). */
function timesIn(next: (after: Date) => Date | null, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let at = next(new Date(fromMs - 1)); at && at.getTime() < toMs; at = next(at)) out.push(at.getTime());
  return out;
}

export function dstDecisions(
  trigger: string,
  spec: ScheduleSpec,
  calendars: CalendarResolver,
  window: { from: Date; to: Date },
): DstDecision[] {
  if (!isWallClock(spec)) return [];
  const zone = ZoneRules.for(spec.timezone);
  const transitions = zone.transitionsBetween(window.from.getTime(), window.to.getTime() + 1);
  if (transitions.length === 0) return [];
  const gap = spec.dst?.gap ?? DEFAULT_DST_POLICY.gap;
  const overlap = spec.dst?.overlap ?? DEFAULT_DST_POLICY.overlap;
  const compile = (dst: WallClockOptions['dst']) =>
    compileSchedule({ ...spec, dst: { gap, overlap, ...dst } } as ScheduleSpec, { calendars });
  const actual = compile({});
  const decisions: DstDecision[] = [];
  const decide = (
    transition: number,
    kind: DstDecision['kind'],
    policy: string,
    decision: DstDecision['decision'],
    at: number,
    note: string,
  ) =>
    decisions.push({
      trigger,
      transition: new Date(transition),
      kind,
      policy,
      decision,
      at: new Date(at),
      local: formatZoned(at, zone),
      note,
    });
  for (const transition of transitions) {
    const shiftMs = Math.abs(transition.after - transition.before);
    const hours = `${shiftMs / 3_600_000} h`;
    if (transition.after > transition.before) {
      const other = compile({ gap: gap === 'skip' ? 'shift-forward' : 'skip' });
      const atGapEnd = (next: (after: Date) => Date | null) =>
        next(new Date(transition.at - 1))?.getTime() === transition.at;
      const shifted = gap === 'shift-forward' ? atGapEnd(actual.next) && !atGapEnd(other.next) : false;
      const skipped = gap === 'skip' ? atGapEnd(other.next) && !atGapEnd(actual.next) : false;
      if (shifted)
        decide(
          transition.at,
          'gap',
          gap,
          'shifted-forward',
          transition.at,
          `clocks went forward ${hours}: a local time in the gap fired at the first instant after it`,
        );
      if (skipped)
        decide(
          transition.at,
          'gap',
          gap,
          'skipped',
          transition.at,
          `clocks went forward ${hours}: a local time in the gap did not exist and did not fire`,
        );
    } else {
      const other = compile({ overlap: overlap === 'once' ? 'twice' : 'once' });
      const mine = new Set(timesIn(actual.next, transition.at, transition.at + shiftMs));
      const theirs = new Set(timesIn(other.next, transition.at, transition.at + shiftMs));
      if (overlap === 'once') {
        for (const at of theirs)
          if (!mine.has(at))
            decide(
              transition.at,
              'overlap',
              overlap,
              'skipped-repeat',
              at,
              `clocks went back ${hours}: the local time came round again; fired the first time only`,
            );
      } else {
        for (const at of mine)
          if (!theirs.has(at))
            decide(
              transition.at,
              'overlap',
              overlap,
              'repeated',
              at,
              `clocks went back ${hours}: the local time came round again and fired again`,
            );
      }
    }
  }
  return decisions;
}
