/**
 * A schedule in words for the dashboard's trigger page: "every day at 09:00 (Europe/Paris), except days
 * the calendar fr-holidays excludes". Pure. Common cron shapes get a sentence; anything else is shown
 * as its expression, which is never wrong.
 */
import type { ScheduleSpec } from '../time/schedule.js';
import { formatDuration } from '../time/duration.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function describeSchedule(spec: ScheduleSpec): string {
  const base = describeBase(spec);
  const calendar = 'calendar' in spec && spec.calendar ? spec.calendar : undefined;
  if (!calendar) return base;
  const moving = 'onExcludedDay' in spec && spec.onExcludedDay && spec.onExcludedDay !== 'skip';
  return `${base}, ${moving ? `moved off days (${spec.onExcludedDay})` : 'except days'} the calendar ${calendar} excludes`;
}

function describeBase(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'cron':
    case 'quartz':
      return `${describeCron(spec.expression, spec.kind) ?? `${spec.kind} “${spec.expression}”`} (${spec.timezone})`;
    case 'interval':
      return `every ${formatDuration(spec.everyMs)}${spec.anchor ? ` from ${spec.anchor}` : ''}`;
    case 'once':
      return `once, at ${spec.at}`;
    case 'calendar-interval':
      return `every ${spec.every === 1 ? '' : `${spec.every} `}${spec.unit}${spec.every === 1 ? '' : 's'} from ${spec.start} (${spec.timezone})`;
    case 'daily-interval':
      return `every ${formatDuration(spec.everyMs)} from ${spec.from} to ${spec.to}${spec.days ? ` on ${spec.days.join(', ')}` : ''} (${spec.timezone})`;
    case 'business-day':
      return `business day ${spec.day} of ${spec.months ? `months ${spec.months.join(', ')}` : 'every month'} at ${spec.time} (${spec.timezone})`;
    case 'after':
      return spec.all
        ? `after all of ${spec.all.join(', ')} succeed${spec.withinMs ? ` within ${formatDuration(spec.withinMs)}` : ''}`
        : `after ${spec.job} (${(spec.on ?? ['succeeded']).join(', ')})`;
  }
}

const pad = (value: string) => value.padStart(2, '0');

/** Sentences for the common shapes; undefined for the rest. */
export function describeCron(expression: string, kind: 'cron' | 'quartz'): string | undefined {
  let fields = expression.trim().split(/\s+/);
  if (kind === 'quartz') {
    if (fields.length === 7) fields = fields.slice(0, 6);
    if (fields.length !== 6 || fields[0] !== '0') return undefined;
    fields = fields.slice(1).map((f) => (f === '?' ? '*' : f));
    // Quartz days of week are 1-7 from Sunday; only plain ranges and lists are translated.
    if (!/^[*\d,-]+$/.test(fields[4]!)) return undefined;
    fields[4] = fields[4]!.replace(/\d/g, (d) => String(Number(d) - 1));
  } else if (fields.length === 6) {
    if (fields[0] !== '0') return undefined;
    fields = fields.slice(1);
  }
  if (fields.length !== 5) return undefined;
  const [minute, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const everyN = /^\*\/(\d+)$/;
  if (month !== '*') return undefined;
  const days = describeDays(dom, dow);
  if (!days) return undefined;
  if (minute === '*' && hour === '*') return `every minute${days === 'every day' ? '' : `, ${days}`}`;
  const minuteStep = everyN.exec(minute);
  if (minuteStep && hour === '*')
    return `every ${minuteStep[1]} minutes${days === 'every day' ? '' : `, ${days}`}`;
  if (/^\d+$/.test(minute) && hour === '*')
    return `every hour at minute ${minute}${days === 'every day' ? '' : `, ${days}`}`;
  const hourStep = everyN.exec(hour);
  if (/^\d+$/.test(minute) && hourStep) return `every ${hourStep[1]} hours at minute ${minute}, ${days}`;
  if (/^\d+$/.test(minute) && /^\d+(,\d+)*$/.test(hour))
    return `${days} at ${hour
      .split(',')
      .map((h) => `${pad(h)}:${pad(minute)}`)
      .join(', ')}`;
  return undefined;
}

function describeDays(dom: string, dow: string): string | undefined {
  if (dom === '*' && dow === '*') return 'every day';
  if (dom === '*' && /^[0-7](-[0-7])?(,[0-7](-[0-7])?)*$/.test(dow)) {
    if (dow === '1-5') return 'Monday to Friday';
    if (dow === '0,6' || dow === '6,0') return 'on weekends';
    const names = dow.split(',').map((part) => {
      const [from, to] = part.split('-').map((d) => DAYS[Number(d) % 7]!);
      return to ? `${from} to ${to}` : from!;
    });
    return `on ${names.join(', ')}`;
  }
  if (dow === '*' && /^\d+$/.test(dom)) return `on day ${dom} of every month`;
  if (dow === '*' && dom === 'L') return 'on the last day of every month';
  return undefined;
}
