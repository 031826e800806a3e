/**
 * From local wall-clock times to instants, under the DST policy (docs/time.md).
 *
 * The instants after `after` are walked one stretch of constant offset at a time. In a stretch with
 * offset o, the local times are [start + o, end + o), so the next fire is the first local time of the
 * sequence at or after max(after, start) + o, if it falls before end + o; otherwise the walk moves on to
 * the next stretch. At a stretch that opens with a transition:
 * - spring gap (offset grows): local times in [start + before, start + after) do not exist. Policy
 *   `shift-forward` fires once at `start`, the first instant after the gap, when any of them is in the
 *   sequence; `skip` drops them.
 * - autumn overlap (offset shrinks): local times in [start + after, start + before) happen a second time.
 *   Policy `once` keeps only the first occurrence (skips them here); `twice` fires them again.
 */
import type { LocalSequence } from './cron-matcher.js';
import type { ZoneRules } from './zone-rules.js';

export interface DstPolicy {
  gap: 'shift-forward' | 'skip';
  overlap: 'once' | 'twice';
}

export const DEFAULT_DST_POLICY: DstPolicy = { gap: 'shift-forward', overlap: 'once' };

/** The first fire strictly after `afterMs`, in ms, or null. */
export function nextWallClockFire(
  sequence: LocalSequence,
  zone: ZoneRules,
  afterMs: number,
  policy: DstPolicy,
): number | null {
  let t = Math.floor(afterMs) + 1;
  // Each pass moves t to the next stretch; a stretch is at most a UTC year long.
  for (let pass = 0; pass < 2000; pass++) {
    const segment = zone.segmentAt(t);
    if (t === segment.start && segment.previousOffset < segment.offset && policy.gap === 'shift-forward') {
      const inGap = sequence.firstAtOrAfter(segment.start + segment.previousOffset);
      if (inGap !== null && inGap < segment.start + segment.offset) return segment.start;
    }
    let from = t + segment.offset;
    if (segment.previousOffset > segment.offset && policy.overlap === 'once') {
      from = Math.max(from, segment.start + segment.previousOffset);
    }
    const local = sequence.firstAtOrAfter(from);
    if (local === null) return null;
    const at = local - segment.offset;
    if (at < segment.end) return at;
    t = segment.end;
  }
  return null;
}

/**
 * The instant a local time names under the policy, for rules that pick a local time directly (moving a
 * fire to another business day): the first occurrence in an overlap, the end of the gap in a gap (even
 * under `skip`: a fire that was moved is not dropped).
 */
export function instantOfLocal(zone: ZoneRules, localMs: number): number {
  const resolution = zone.resolveLocal(localMs);
  return resolution.instants[0] ?? resolution.gapEnd ?? localMs - zone.offsetAt(localMs);
}
