import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerNextCommand } from '../../../src/cli/next-command.js';
import { createCalendarResolver } from '../../../src/time/calendar-resolver.js';
import type { Clock } from '../../../src/time/clock.js';
import { formatPreviewLine, previewSchedule } from '../../../src/time/preview.js';
import { compileSchedule } from '../../../src/time/schedule.js';

const calendars = createCalendarResolver();

describe('previewSchedule', () => {
  it('lists fires with local times and says which holiday skipped a day', () => {
    const schedule = compileSchedule(
      { kind: 'quartz', expression: '0 0 9 ? * MON-FRI', timezone: 'America/New_York', calendar: 'us-nyse' },
      { calendars },
    );
    const fires = previewSchedule(schedule, { from: new Date('2024-03-28T14:00:00Z'), count: 2 });
    expect(fires).toEqual([
      {
        at: '2024-04-01T13:00:00.000Z',
        local: '2024-04-01T09:00:00-04:00',
        skipped: [
          {
            date: '2024-03-29',
            fires: 1,
            firstFire: '2024-03-29T13:00:00.000Z',
            calendar: 'us-nyse',
            reason: 'Good Friday',
          },
        ],
      },
      { at: '2024-04-02T13:00:00.000Z', local: '2024-04-02T09:00:00-04:00' },
    ]);
    expect(formatPreviewLine(fires[0]!)).toBe(
      '2024-04-01T13:00:00.000Z  2024-04-01T09:00:00-04:00  skipped 2024-03-29: Good Friday, calendar us-nyse',
    );
  });

  it('says where a moved fire came from', () => {
    const schedule = compileSchedule(
      {
        kind: 'quartz',
        expression: '0 0 9 4 7 ?',
        timezone: 'America/New_York',
        calendar: 'us-nyse',
        onExcludedDay: 'previous-business-day',
      },
      { calendars },
    );
    const [fire] = previewSchedule(schedule, { from: new Date('2024-01-01T00:00:00Z'), count: 1 });
    expect(fire!.movedFrom).toEqual({
      at: '2024-07-04T13:00:00.000Z',
      local: '2024-07-04T09:00:00-04:00',
      rule: 'previous-business-day',
      calendar: 'us-nyse',
      reason: 'Independence Day',
    });
    expect(fire!.at).toBe('2024-07-03T13:00:00.000Z');
  });

  it('counts skipped fires per day and stops when the schedule ends', () => {
    const resolve = createCalendarResolver({ nights: { kind: 'daily', from: '18:00', to: '08:00' } });
    const schedule = compileSchedule(
      { kind: 'cron', expression: '0 * * * *', timezone: 'Europe/Paris', calendar: 'nights' },
      { calendars: resolve },
    );
    const [fire] = previewSchedule(schedule, { from: new Date('2024-01-01T16:30:00Z'), count: 1 });
    expect(fire!.local).toBe('2024-01-02T08:00:00+01:00');
    expect(fire!.skipped).toEqual([
      {
        date: '2024-01-01',
        fires: 1,
        firstFire: '2024-01-01T17:00:00.000Z',
        calendar: 'nights',
        reason: 'between 18:00 and 08:00',
      },
    ]);
    const once = compileSchedule({ kind: 'once', at: '2030-01-01T00:00:00Z' });
    expect(previewSchedule(once, { from: new Date('2024-01-01T00:00:00Z'), count: 5 })).toHaveLength(1);
  });

  it('shows half-hour and negative offsets', () => {
    const schedule = compileSchedule({
      kind: 'quartz',
      expression: '0 0 3 * * ?',
      timezone: 'Australia/Lord_Howe',
    });
    expect(previewSchedule(schedule, { from: new Date('2024-06-01T00:00:00Z'), count: 1 })[0]!.local).toBe(
      '2024-06-02T03:00:00+10:30',
    );
  });
});

describe('belfry next', () => {
  const clock: Clock = {
    now: () => new Date('2024-03-28T14:00:00Z'),
    monotonicMs: () => 0,
    sleep: async () => {},
  };

  async function run(...args: string[]): Promise<string> {
    let output = '';
    const program = new Command('belfry')
      .exitOverride()
      .configureOutput({ writeErr: (text) => (output += text), writeOut: (text) => (output += text) });
    registerNextCommand(program, { clock, write: (text) => (output += text) });
    await program.parseAsync(['next', ...args], { from: 'user' });
    return output;
  }

  it('prints JSON with at, local and the explanations', async () => {
    const output = await run(
      '--quartz',
      '0 0 9 ? * MON-FRI',
      '--tz',
      'America/New_York',
      '--calendar',
      'us-nyse',
      '--count',
      '2',
      '--json',
    );
    const fires = JSON.parse(output) as Array<{ at: string; local: string; skipped?: unknown[] }>;
    expect(fires.map((fire) => fire.at)).toEqual(['2024-04-01T13:00:00.000Z', '2024-04-02T13:00:00.000Z']);
    expect(fires[0]!.skipped).toHaveLength(1);
  });

  it('prints one line per fire, from --from (exclusive), in UTC by default', async () => {
    const output = await run('--cron', '*/30 * * * *', '--from', '2024-01-01T00:00:00Z', '--count', '3');
    expect(output.trim().split('\n')).toEqual([
      '2024-01-01T00:30:00.000Z  2024-01-01T00:30:00+00:00',
      '2024-01-01T01:00:00.000Z  2024-01-01T01:00:00+00:00',
      '2024-01-01T01:30:00.000Z  2024-01-01T01:30:00+00:00',
    ]);
  });

  it('fails with the bad field named, and without an expression', async () => {
    await expect(run('--quartz', '0 0 9 * * MON')).rejects.toThrow(CommanderError);
    await expect(run('--quartz', '0 0 9 * * MON')).rejects.toThrow(/day-of-month field/);
    await expect(run('--count', '2')).rejects.toThrow(/--cron or --quartz/);
    await expect(run('--cron', '* * * * *', '--calendar', 'nowhere')).rejects.toThrow(/calendar "nowhere"/);
  });
});
