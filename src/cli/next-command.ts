/**
 * `belfry next`: preview the next fires of an ad-hoc cron or Quartz expression, in a zone, against a
 * calendar, with the reason for each skipped or moved day. (Previewing a YAML trigger comes with the
 * config module.)
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CalendarResolver } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';
import { systemClock, type Clock } from '../time/clock.js';
import { formatPreviewLine, previewSchedule } from '../time/preview.js';
import {
  compileSchedule,
  parseInstant,
  ScheduleError,
  type OnExcludedDay,
  type ScheduleSpec,
} from '../time/schedule.js';
import { shippedCalendarNames } from '../time/shipped-calendars.js';
import { loadDefinitions } from '../config/definition-loader.js';
import { formatDefinitionError } from '../config/definition-error.js';
import { definitionsCalendarResolver } from '../config/definitions.js';

export interface NextCommandDeps {
  clock?: Clock;
  /** Where output goes; default stdout. */
  write?: (text: string) => void;
  calendars?: CalendarResolver;
}

interface NextOptions {
  cron?: string;
  quartz?: string;
  tz: string;
  calendar?: string;
  onExcludedDay?: OnExcludedDay;
  from?: string;
  count: number;
  json?: boolean;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 100_000)
    throw new InvalidArgumentError('write a whole number from 1 to 100000');
  return count;
}

export function registerNextCommand(program: Command, deps: NextCommandDeps = {}): void {
  const clock = deps.clock ?? systemClock;
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  program
    .command('next')
    .description('preview the next fire times of a cron or Quartz expression, with calendar explanations')
    .addOption(
      new Option(
        '--cron <expr>',
        'Unix cron: 5 fields (or 6, seconds first); day of week 0-7, 0 and 7 = Sunday',
      ).conflicts('quartz'),
    )
    .addOption(
      new Option(
        '--quartz <expr>',
        'Quartz cron: 6 or 7 fields (seconds first, optional year); day of week 1-7, 1 = Sunday',
      ),
    )
    .option('--tz <zone>', 'IANA time zone the expression is read in', 'UTC')
    .option('--calendar <name>', `a shipped calendar (${shippedCalendarNames().join(', ') || 'none found'})`)
    .addOption(
      new Option('--on-excluded-day <rule>', 'what a fire on an excluded day does').choices([
        'skip',
        'next-business-day',
        'previous-business-day',
        'modified-following',
      ]),
    )
    .option('--from <instant>', 'start after this ISO 8601 instant (exclusive); default now')
    .option('--count <n>', 'how many fires', parseCount, 10)
    .option('--json', 'print a JSON array of {at, local, movedFrom?, skipped?}')
    .addHelpText(
      'after',
      `
Examples:
  belfry next --cron "0 9 * * 1-5" --tz America/New_York --count 5
  belfry next --config examples/belfry.yaml --trigger heartbeat-every-5s --count 3
  belfry next --quartz "0 0 9 ? * MON-FRI" --tz America/New_York --calendar us-nyse --json
  belfry next --quartz "0 0 17 L * ?" --tz Europe/London --calendar uk-england-wales --on-excluded-day previous-business-day`,
    )
    .option('-c, --config <file...>', 'YAML definitions to read --trigger from')
    .option('--trigger <name>', 'preview a trigger defined in the --config files')
    .action(async function (this: Command, options: NextOptions & { config?: string[]; trigger?: string }) {
      let spec: ScheduleSpec;
      let calendars = deps.calendars ?? createCalendarResolver();
      if (options.trigger !== undefined) {
        if (!options.config?.length) this.error('error: --trigger needs --config FILE', { exitCode: 2 });
        const loaded = await loadDefinitions(options.config!);
        if (!loaded.ok) this.error(loaded.errors.map(formatDefinitionError).join('\n'), { exitCode: 1 });
        const definitions = (loaded as Extract<typeof loaded, { ok: true }>).definitions;
        const trigger = definitions.triggers.find((t) => t.name === options.trigger);
        if (!trigger) {
          const known = definitions.triggers.map((t) => t.name).join(', ') || 'none';
          this.error(
            `error: no trigger "${options.trigger}" in ${options.config!.join(', ')} (defined: ${known})`,
            { exitCode: 2 },
          );
        }
        spec = trigger!.record.spec as ScheduleSpec;
        calendars = definitionsCalendarResolver(definitions);
      } else {
        const expression = options.cron ?? options.quartz;
        if (expression === undefined)
          this.error('error: give an expression with --cron or --quartz, or --config FILE --trigger NAME', {
            exitCode: 2,
          });
        spec = {
          kind: options.cron !== undefined ? 'cron' : 'quartz',
          expression: expression!,
          timezone: options.tz,
          ...(options.calendar !== undefined ? { calendar: options.calendar } : {}),
          ...(options.onExcludedDay !== undefined ? { onExcludedDay: options.onExcludedDay } : {}),
        };
      }
      try {
        const from = options.from !== undefined ? parseInstant(options.from, 'from') : clock.now();
        const schedule = compileSchedule(spec, { calendars });
        const fires = previewSchedule(schedule, { from, count: options.count });
        if (options.json) write(`${JSON.stringify(fires, null, 2)}\n`);
        else write(fires.map((fire) => `${formatPreviewLine(fire)}\n`).join('') || 'no fires\n');
      } catch (error) {
        if (error instanceof ScheduleError)
          this.error(`error: ${error.message}`, { exitCode: 2, code: error.code });
        throw error;
      }
    });
}
