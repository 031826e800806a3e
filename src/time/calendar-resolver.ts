/**
 * Resolves calendar names: the user's calendars (from YAML) first, then the shipped ones. Compiled
 * calendars are cached per resolver; a chain of base calendars that loops is an error.
 */
import { compileCalendar, type Calendar, type CalendarResolver, type CalendarSpec } from './calendar.js';
import { ScheduleError } from './schedule-error.js';
import { loadShippedCalendar } from './shipped-calendars.js';

export function createCalendarResolver(userSpecs: Record<string, CalendarSpec> = {}): CalendarResolver {
  const compiled = new Map<string, Calendar | undefined>();
  const resolving: string[] = [];
  const resolve: CalendarResolver = (name) => {
    if (compiled.has(name)) return compiled.get(name);
    if (resolving.includes(name)) {
      throw new ScheduleError(`calendar base chain loops: ${[...resolving, name].join(' -> ')}`, 'calendar');
    }
    const spec = Object.hasOwn(userSpecs, name) ? userSpecs[name] : loadShippedCalendar(name);
    if (!spec) return undefined;
    resolving.push(name);
    try {
      const calendar = compileCalendar(spec, resolve, name);
      compiled.set(name, calendar);
      return calendar;
    } finally {
      resolving.pop();
    }
  };
  return resolve;
}
