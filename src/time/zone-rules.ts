/**
 * Time-zone rules as plain numbers: UTC offsets, their transitions, and the resolution of a local
 * wall-clock time to instants under the DST policy.
 *
 * Offsets come from the platform's IANA database (through luxon's IANAZone, which asks Intl). Asking
 * Intl costs microseconds, so each zone's transitions are found once per UTC year (by sampling the
 * offset at every day boundary and bisecting to the second where it changes) and kept. Assumption: at
 * most one transition per zone per UTC day, true of every zone since 1970.
 *
 * Instants and offsets are in ms; a "local ms" is a wall-clock reading encoded as if it were UTC (civil.ts).
 */
import { IANAZone } from 'luxon';
import { MS_PER_DAY } from './civil.js';

export interface ZoneTransition {
  /** The first instant with the new offset. */
  at: number;
  before: number;
  after: number;
}

/** A stretch of time with one offset. When `start` is a real transition, `previousOffset` is the offset
 *  before it (a spring gap when smaller, an autumn overlap when larger); otherwise the two are equal. */
export interface OffsetSegment {
  start: number;
  end: number;
  offset: number;
  previousOffset: number;
}

/** What a local time is: zero (a gap), one, or two (an overlap) instants. */
export interface LocalResolution {
  instants: number[];
  /** When the local time falls in a gap: the first instant after it. */
  gapEnd?: number;
}

interface YearRules {
  start: number;
  end: number;
  startOffset: number;
  transitions: ZoneTransition[];
}

const zones = new Map<string, ZoneRules>();

export class ZoneRules {
  private readonly years = new Map<number, YearRules>();
  private readonly iana: IANAZone;

  private constructor(readonly zone: string) {
    this.iana = IANAZone.create(zone);
  }

  /** The rules of an IANA zone (cached). The caller has validated the name. */
  static for(zone: string): ZoneRules {
    let rules = zones.get(zone);
    if (!rules) {
      rules = new ZoneRules(zone);
      zones.set(zone, rules);
    }
    return rules;
  }

  offsetAt(ms: number): number {
    const year = this.yearRules(ms);
    let offset = year.startOffset;
    for (const transition of year.transitions) {
      if (ms < transition.at) break;
      offset = transition.after;
    }
    return offset;
  }

  /** The local ms of an instant. */
  toLocal(ms: number): number {
    return ms + this.offsetAt(ms);
  }

  /** The stretch of constant offset that holds `ms`; boundaries that are not transitions fall on UTC years. */
  segmentAt(ms: number): OffsetSegment {
    const year = this.yearRules(ms);
    let start = year.start;
    let offset = year.startOffset;
    let previousOffset = offset;
    for (const transition of year.transitions) {
      if (ms < transition.at) return { start, end: transition.at, offset, previousOffset };
      start = transition.at;
      previousOffset = transition.before;
      offset = transition.after;
    }
    return { start, end: year.end, offset, previousOffset };
  }

  /** Transitions with `from <= at < to`, in order. */
  transitionsBetween(from: number, to: number): ZoneTransition[] {
    const found: ZoneTransition[] = [];
    for (let ms = from; ;) {
      const year = this.yearRules(ms);
      for (const transition of year.transitions) {
        if (transition.at >= from && transition.at < to) found.push(transition);
      }
      if (year.end >= to) return found;
      ms = year.end;
    }
  }

  /** The instants a local time names. */
  resolveLocal(localMs: number): LocalResolution {
    // Offsets lie within ±26h, so every instant that can show `localMs` lies within two days of it.
    const from = localMs - 2 * MS_PER_DAY;
    const transitions = this.transitionsBetween(from, localMs + 2 * MS_PER_DAY);
    if (transitions.length === 0) return { instants: [localMs - this.offsetAt(localMs)] };
    const instants: number[] = [];
    let offset = this.offsetAt(from);
    let segmentStart = -Infinity;
    for (const transition of transitions) {
      const candidate = localMs - offset;
      if (candidate >= segmentStart && candidate < transition.at) instants.push(candidate);
      segmentStart = transition.at;
      offset = transition.after;
    }
    const last = localMs - offset;
    if (last >= segmentStart) instants.push(last);
    if (instants.length > 0) return { instants };
    const gap = transitions.find((t) => t.at + t.before <= localMs && localMs < t.at + t.after);
    return gap ? { instants, gapEnd: gap.at } : { instants };
  }

  private yearRules(ms: number): YearRules {
    const year = new Date(ms).getUTCFullYear();
    let rules = this.years.get(year);
    if (!rules) {
      rules = this.computeYear(year);
      if (this.years.size > 400) this.years.clear();
      this.years.set(year, rules);
    }
    return rules;
  }

  private ianaOffset(ms: number): number {
    return Math.round(this.iana.offset(ms) * 60) * 1000;
  }

  private computeYear(year: number): YearRules {
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const transitions: ZoneTransition[] = [];
    // Samples at every day boundary; the first one second early so a transition exactly at the start of
    // the year belongs to this year.
    let previousMs = start - 1000;
    let previous = this.ianaOffset(previousMs);
    const startOffset = previous;
    for (let ms = start + MS_PER_DAY; previousMs < end - 1000; ms += MS_PER_DAY) {
      const sampleMs = Math.min(ms, end - 1000);
      const offset = this.ianaOffset(sampleMs);
      if (offset !== previous) transitions.push(this.bisect(previousMs, sampleMs, previous));
      previousMs = sampleMs;
      previous = offset;
    }
    return { start, end, startOffset, transitions };
  }

  /** The first whole second in (lo, hi] with the new offset. */
  private bisect(lo: number, hi: number, before: number): ZoneTransition {
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.ianaOffset(mid) === before) lo = mid;
      else hi = mid;
    }
    return { at: hi, before, after: this.ianaOffset(hi) };
  }
}
