import { compileSchedule, type ScheduleContext, type ScheduleSpec } from '../../../src/time/schedule.js';

/** The next `count` fires after `from` (exclusive), as ISO strings without milliseconds. */
export function fires(spec: ScheduleSpec, from: string, count: number, context?: ScheduleContext): string[] {
  const schedule = compileSchedule(spec, context);
  const out: string[] = [];
  let after = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = schedule.next(after);
    if (!next) break;
    out.push(next.toISOString().replace('.000Z', 'Z'));
    after = next;
  }
  return out;
}
