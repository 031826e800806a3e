/**
 * The two cron dialects, parsed into plain sets. No matching here: see cron-matcher.ts.
 *
 * | dialect | fields | day of week | both day fields set |
 * | `cron`   | 5, or 6 with seconds first | 0-7, 0 and 7 = Sunday | OR-ed, as Vixie cron (a field starting with `*` is unrestricted) |
 * | `quartz` | 6 or 7: sec min hour dom month dow [year] | 1-7, 1 = Sunday | not allowed: exactly one of them is `?` |
 *
 * Both accept names (JAN-DEC, SUN-SAT), lists, ranges (wrapping ones too: `FRI-MON`, `22-2`), steps
 * (`*∕5`, `10/5`, `1-30/2`) and the Quartz day specials: `L`, `L-n`, `nW`, `LW` in day of month;
 * `L` (Saturday), `nL` (last n-day of the month), `n#k` (k-th n-day) in day of week, where n follows the
 * dialect's numbering. Weekdays are normalized to 0-6 with 0 = Sunday.
 */
import { ScheduleError } from './schedule-error.js';

export type CronDialect = 'cron' | 'quartz';

export interface DayOfMonthRule {
  days: number[];
  /** `L` is 0, `L-3` is 3: days before the last day of the month. */
  fromLast: number[];
  /** `15W`: the weekday nearest the 15th, within the month. */
  nearestWeekday: number[];
  /** `LW`: the last weekday of the month. */
  lastWeekday: boolean;
}

export interface DayOfWeekRule {
  weekdays: number[];
  /** `5L` (Quartz) = the last Thursday of the month. */
  lastInMonth: number[];
  /** `6#3` (Quartz) = the third Friday: [weekday, k]. */
  nth: Array<[number, number]>;
}

export interface CronFields {
  dialect: CronDialect;
  seconds: number[];
  minutes: number[];
  hours: number[];
  months: number[];
  /** Undefined when any year matches. */
  years?: number[];
  /** Undefined when the field is unrestricted (`*` or `?`). */
  dayOfMonth?: DayOfMonthRule;
  dayOfWeek?: DayOfWeekRule;
  /** How the two day fields combine when both are restricted. */
  dayCombination: 'and' | 'or';
}

export const MIN_YEAR = 1970;
export const MAX_YEAR = 2199;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldRange {
  name: string;
  min: number;
  max: number;
  /** Names mapped to values, in order from `nameBase`. */
  names?: string[];
  nameBase?: number;
}

class FieldError extends Error {}

/**
 * Parses an expression; throws a ScheduleError (field `specField`) whose message names the bad cron field.
 */
export function parseCronExpression(
  expression: string,
  dialect: CronDialect,
  specField: string = dialect,
): CronFields {
  const text = expression.trim();
  const expanded = dialect === 'cron' ? (MACROS[text.toLowerCase()] ?? text) : text;
  const parts = expanded.split(/\s+/).filter((part) => part.length > 0);
  const fail = (message: string, cause?: unknown): never => {
    throw new ScheduleError(`${dialect} expression "${expression}" ${message}`, specField, { cause });
  };
  if (dialect === 'cron' && parts.length !== 5 && parts.length !== 6) {
    fail(
      `has ${parts.length} fields; write 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  if (dialect === 'quartz' && parts.length !== 6 && parts.length !== 7) {
    fail(
      `has ${parts.length} fields; write 6 (second minute hour day-of-month month day-of-week) or 7 (with year)`,
    );
  }
  const [sec, min, hour, dom, month, dow, year] =
    dialect === 'cron' && parts.length === 5 ? ['0', ...parts] : parts;
  let current = 'second';
  try {
    const fields: CronFields = {
      dialect,
      seconds: parseNumeric(sec!, { name: (current = 'second'), min: 0, max: 59 }),
      minutes: parseNumeric(min!, { name: (current = 'minute'), min: 0, max: 59 }),
      hours: parseNumeric(hour!, { name: (current = 'hour'), min: 0, max: 23 }),
      months: parseNumeric(month!, {
        name: (current = 'month'),
        min: 1,
        max: 12,
        names: MONTH_NAMES,
        nameBase: 1,
      }),
      dayCombination: 'and',
    };
    current = 'year';
    if (year !== undefined && year !== '*' && year !== '?') {
      fields.years = parseNumeric(year, { name: 'year', min: MIN_YEAR, max: MAX_YEAR }, false);
    }
    current = 'day-of-month';
    const domFree = dom === '?' || dom === '*';
    const dowFree = dow === '?' || dow === '*';
    if (dialect === 'quartz' && (dom === '?') === (dow === '?')) {
      current = dom === '?' ? 'day-of-week' : 'day-of-month';
      throw new FieldError(
        'exactly one of day-of-month and day-of-week must be "?" (write "0 0 9 ? * MON-FRI" or "0 0 9 1 * ?")',
      );
    }
    if (!domFree) fields.dayOfMonth = parseDayOfMonth(dom!);
    current = 'day-of-week';
    if (!dowFree) fields.dayOfWeek = parseDayOfWeek(dow!, dialect);
    // Vixie cron: OR when both fields are restricted, a field starting with `*` counting as unrestricted.
    if (
      dialect === 'cron' &&
      fields.dayOfMonth &&
      fields.dayOfWeek &&
      !dom!.startsWith('*') &&
      !dow!.startsWith('*')
    ) {
      fields.dayCombination = 'or';
    }
    return fields;
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return fail(`is invalid in its ${current} field: ${error.message}`, error);
  }
}

function parseValue(token: string, range: FieldRange): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < range.min || value > range.max) {
      throw new FieldError(`${value} is out of range ${range.min}-${range.max}`);
    }
    return value;
  }
  const index = range.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index < 0) {
    const hint = range.names
      ? ` (use ${range.min}-${range.max} or ${range.names[0]}-${range.names.at(-1)})`
      : '';
    throw new FieldError(`"${token}" is not a ${range.name} value${hint}`);
  }
  return index + (range.nameBase ?? 0);
}

/** Values of a numeric list: `*`, `a`, `a-b`, `a/s`, `a-b/s`, `*∕s`; ranges with a > b wrap around. */
function parseNumeric(field: string, range: FieldRange, wrap = true): number[] {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    if (item.length === 0) throw new FieldError(`empty list item in "${field}"`);
    for (const value of expandItem(item, range, wrap)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function expandItem(item: string, range: FieldRange, wrap: boolean): number[] {
  const [base, stepText, extra] = item.split('/');
  if (extra !== undefined || base === undefined || base.length === 0)
    throw new FieldError(`"${item}" is not a value, range or step`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
      throw new FieldError(`step "${stepText}" in "${item}" must be a positive number`);
    step = Number(stepText);
  }
  let start: number;
  let end: number;
  if (base === '*') {
    [start, end] = [range.min, range.max];
  } else {
    const dash = base.indexOf('-', 1);
    if (dash > 0) {
      start = parseValue(base.slice(0, dash), range);
      end = parseValue(base.slice(dash + 1), range);
    } else {
      start = parseValue(base, range);
      end = stepText === undefined ? start : range.max;
    }
  }
  if (start > end && !wrap) throw new FieldError(`range "${item}" runs backwards`);
  const span = range.max - range.min + 1;
  const count = start <= end ? end - start : end - start + span;
  const out: number[] = [];
  for (let i = 0; i <= count; i += step) out.push(((start - range.min + i) % span) + range.min);
  return out;
}

const DOM_RANGE: FieldRange = { name: 'day-of-month', min: 1, max: 31 };

function parseDayOfMonth(field: string): DayOfMonthRule {
  const rule: DayOfMonthRule = { days: [], fromLast: [], nearestWeekday: [], lastWeekday: false };
  for (const raw of field.split(',')) {
    if (raw.length === 0) throw new FieldError(`empty list item in "${field}"`);
    const item = raw.toUpperCase();
    let match: RegExpExecArray | null;
    if (item === 'LW') rule.lastWeekday = true;
    else if ((match = /^L(?:-(\d+))?$/.exec(item))) {
      const offset = Number(match[1] ?? 0);
      if (offset > 30) throw new FieldError(`"${raw}": L-n needs n between 0 and 30`);
      rule.fromLast.push(offset);
    } else if ((match = /^(\d+)W$/.exec(item))) rule.nearestWeekday.push(parseValue(match[1]!, DOM_RANGE));
    else if (item.includes('W') || item.includes('L') || item.includes('#')) {
      throw new FieldError(
        `"${raw}" is not valid here (day-of-month accepts n, a-b, a/s, L, L-n, nW and LW)`,
      );
    } else rule.days.push(...expandItem(item, DOM_RANGE, true));
  }
  rule.days = [...new Set(rule.days)].sort((a, b) => a - b);
  return rule;
}

function parseDayOfWeek(field: string, dialect: CronDialect): DayOfWeekRule {
  // Quartz: 1-7 with 1 = Sunday. cron: 0-7 with 0 and 7 = Sunday. Both normalized to 0-6, 0 = Sunday.
  const range: FieldRange =
    dialect === 'quartz'
      ? { name: 'day-of-week', min: 1, max: 7, names: WEEKDAY_NAMES, nameBase: 1 }
      : { name: 'day-of-week', min: 0, max: 7, names: WEEKDAY_NAMES, nameBase: 0 };
  const normalize = (value: number) => (dialect === 'quartz' ? value - 1 : value % 7);
  const rule: DayOfWeekRule = { weekdays: [], lastInMonth: [], nth: [] };
  for (const item of field.split(',')) {
    if (item.length === 0) throw new FieldError(`empty list item in "${field}"`);
    let match: RegExpExecArray | null;
    if (item.toUpperCase() === 'L') rule.weekdays.push(6);
    else if ((match = /^(\w+?)L$/i.exec(item)))
      rule.lastInMonth.push(normalize(parseValue(match[1]!, range)));
    else if ((match = /^(\w+)#(\d+)$/.exec(item))) {
      const k = Number(match[2]);
      if (k < 1 || k > 5) throw new FieldError(`"${item}": the week number after # must be 1-5`);
      rule.nth.push([normalize(parseValue(match[1]!, range)), k]);
    } else if (item.includes('#')) {
      throw new FieldError(`"${item}" is not valid here (day-of-week accepts n, a-b, names, nL and n#k)`);
    } else rule.weekdays.push(...expandItem(item, range, true).map(normalize));
  }
  rule.weekdays = [...new Set(rule.weekdays)].sort((a, b) => a - b);
  return rule;
}
