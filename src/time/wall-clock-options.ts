/**
 * The options every wall-clock schedule kind shares (calendar, excluded days, DST, weekend). A leaf of
 * its own, so the kinds' specs can live beside their sequences without importing schedule.ts back.
 */
import type { DayName } from './civil.js';
import type { OnExcludedDay } from './excluded-day-policy.js';

/** Options shared by the wall-clock kinds. */
export interface WallClockOptions {
  /** A calendar name (user-defined or shipped) whose excluded times this schedule avoids. */
  calendar?: string;
  /** What a fire on an excluded day does; default `skip`. */
  onExcludedDay?: OnExcludedDay;
  /** Spring gap: `shift-forward` (default) or `skip`; autumn overlap: `once` (default) or `twice`. */
  dst?: { gap?: 'shift-forward' | 'skip'; overlap?: 'once' | 'twice' };
  /** Days that are never business days, for the moving rules; default SAT and SUN. */
  weekend?: DayName[];
}
