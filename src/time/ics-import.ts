/**
 * Imports an iCalendar (.ics) file as a holiday calendar, through ical.js: every VEVENT, recurring ones
 * expanded, becomes the days it covers (an all-day event: from DTSTART up to DTEND, exclusive; a timed
 * event: the local day it starts on). Pure: the caller reads the file and passes its text.
 */
import ICAL from 'ical.js';
import { daysFromCivil, civilFromDays, formatCivilDate } from './civil.js';
import type { HolidayCalendarSpec, NamedDate } from './calendar.js';
import { ScheduleError } from './schedule-error.js';

export interface IcsImportOptions {
  /** First and last year to keep (recurring events are expanded over them). */
  fromYear: number;
  toYear: number;
  /** The calendar's zone; absent = floating (judged in the zone of the schedule using it). */
  timezone?: string;
  description?: string;
}

const MAX_OCCURRENCES_PER_EVENT = 10_000;

export function calendarSpecFromIcs(text: string, options: IcsImportOptions): HolidayCalendarSpec {
  let root: InstanceType<typeof ICAL.Component>;
  try {
    root = new ICAL.Component(ICAL.parse(text));
  } catch (error) {
    throw new ScheduleError(`the .ics file could not be parsed: ${(error as Error).message}`, 'calendar', {
      cause: error,
    });
  }
  const byDate = new Map<string, string>();
  const add = (days: number, name: string) => {
    const date = civilFromDays(days);
    if (date.year < options.fromYear || date.year > options.toYear) return;
    const key = formatCivilDate(date);
    const existing = byDate.get(key);
    byDate.set(key, existing && existing !== name ? `${existing} / ${name}` : name);
  };
  for (const component of root.getAllSubcomponents('vevent')) {
    const event = new ICAL.Event(component);
    const name = event.summary || 'event';
    const start = event.startDate;
    if (!start) continue;
    const end = event.endDate;
    const spanDays = start.isDate && end ? Math.max(1, dayNumber(end) - dayNumber(start)) : 1;
    const addOccurrence = (time: InstanceType<typeof ICAL.Time>) => {
      for (let i = 0; i < spanDays; i++) add(dayNumber(time) + i, name);
    };
    if (!event.isRecurring()) {
      addOccurrence(start);
      continue;
    }
    const iterator = event.iterator();
    for (
      let i = 0, next = iterator.next();
      next && i < MAX_OCCURRENCES_PER_EVENT;
      i++, next = iterator.next()
    ) {
      if (next.year > options.toYear) break;
      addOccurrence(next);
    }
  }
  const dates: NamedDate[] = [...byDate.keys()].sort().map((date) => ({ date, name: byDate.get(date)! }));
  return {
    kind: 'holiday',
    dates,
    ...(options.timezone !== undefined ? { timezone: options.timezone } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
  };
}

function dayNumber(time: { year: number; month: number; day: number }): number {
  return daysFromCivil(time.year, time.month, time.day);
}
