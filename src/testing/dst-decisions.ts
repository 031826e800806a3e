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
import { DEFAULT_DST_POLICY, type DstPolicy } from '../time/wall-clock-schedule.js';
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

/**
 * What each policy decides, compared with the other policy of its kind: the times it fires that the
 * other does not (`own`), or those the other fires that it does not (`other`).
 */
const POLICY_DECISIONS: Record<
  DstPolicy['gap'] | DstPolicy['overlap'],
  { decision: DstDecision['decision']; reported: 'own' | 'other'; note: string }
> = {
  'shift-forward': {
    decision: 'shifted-forward',
    reported: 'own',
    note: 'a local time in the gap fired at the first instant after it',
  },
  skip: {
    decision: 'skipped',
    reported: 'other',
    note: 'a local time in the gap did not exist and did not fire',
  },
  once: {
    decision: 'skipped-repeat',
    reported: 'other',
    note: 'the local time came round again; fired the first time only',
  },
  twice: { decision: 'repeated', reported: 'own', note: 'the local time came round again and fired again' },
};

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
  const otherGap = compile({ gap: gap === 'skip' ? 'shift-forward' : 'skip' });
  const otherOverlap = compile({ overlap: overlap === 'once' ? 'twice' : 'once' });
  const decisions: DstDecision[] = [];
  for (const transition of transitions) {
    const shiftMs = Math.abs(transition.after - transition.before);
    const kind = transition.after > transition.before ? 'gap' : 'overlap';
    const policy = kind === 'gap' ? gap : overlap;
    const other = kind === 'gap' ? otherGap : otherOverlap;
    // A gap's decision is at its end (the first instant after it); an overlap's, in the span it repeats.
    const toMs = transition.at + (kind === 'gap' ? 1 : shiftMs);
    const mine = timesIn(actual.next, transition.at, toMs);
    const theirs = timesIn(other.next, transition.at, toMs);
    const { decision, reported, note } = POLICY_DECISIONS[policy];
    const [candidates, against] = reported === 'own' ? [mine, theirs] : [theirs, mine];
    for (const at of candidates)
      if (!against.includes(at))
        decisions.push({
          trigger,
          transition: new Date(transition.at),
          kind,
          policy,
          decision,
          at: new Date(at),
          local: formatZoned(at, zone),
          note: `clocks went ${kind === 'gap' ? 'forward' : 'back'} ${shiftMs / 3_600_000} h: ${note}`,
        });
  }
  return decisions;
}
