/** The trigger page's schedule in words, and the session cookie's parsing and the shell's paths. */
import { describe, expect, it } from 'vitest';
import { describeCron, describeSchedule } from '../../../src/api/schedule-words.js';
import { isDashboardShell, sessionCookie, sessionToken } from '../../../src/api/dashboard-session.js';

describe('describeSchedule', () => {
  it.each([
    ['0 9 * * *', 'every day at 09:00'],
    ['30 8 * * 1-5', 'Monday to Friday at 08:30'],
    ['0 6,18 * * *', 'every day at 06:00, 18:00'],
    ['*/5 * * * *', 'every 5 minutes'],
    ['15 * * * *', 'every hour at minute 15'],
    ['0 */4 * * *', 'every 4 hours at minute 0, every day'],
    ['0 9 1 * *', 'on day 1 of every month at 09:00'],
    ['0 9 * * 0,6', 'on weekends at 09:00'],
    ['0 0 9 * * *', 'every day at 09:00'],
    ['* * * * *', 'every minute'],
  ])('cron %s reads "%s"', (expression, words) => {
    expect(describeCron(expression, 'cron')).toBe(words);
  });

  it('translates Quartz days of week (1 = Sunday) and leaves what it cannot say to the expression', () => {
    expect(describeCron('0 0 9 ? * 2-6', 'quartz')).toBe('Monday to Friday at 09:00');
    expect(describeCron('0 0 9 ? * MON#2', 'quartz')).toBeUndefined();
    expect(describeSchedule({ kind: 'quartz', expression: '0 0 9 ? * MON#2', timezone: 'UTC' })).toBe(
      'quartz “0 0 9 ? * MON#2” (UTC)',
    );
  });

  it('names the zone, the interval and the calendar', () => {
    expect(
      describeSchedule({ kind: 'cron', expression: '0 9 * * *', timezone: 'Europe/Paris', calendar: 'fr' }),
    ).toBe('every day at 09:00 (Europe/Paris), except days the calendar fr excludes');
    expect(
      describeSchedule({
        kind: 'cron',
        expression: '0 9 * * *',
        timezone: 'UTC',
        calendar: 'fr',
        onExcludedDay: 'next-business-day',
      }),
    ).toBe('every day at 09:00 (UTC), moved off days (next-business-day) the calendar fr excludes');
    expect(describeSchedule({ kind: 'interval', everyMs: 30_000 })).toBe('every 30s');
    expect(describeSchedule({ kind: 'once', at: '2030-01-01T00:00:00Z' })).toBe(
      'once, at 2030-01-01T00:00:00Z',
    );
  });
});

describe('the dashboard session', () => {
  it('reads its token from the cookie header, among others, and ignores a malformed one', () => {
    expect(sessionToken('a=1; belfry_token=abc%2Fdef; b=2')).toBe('abc/def');
    expect(sessionToken('belfry_tokenx=abc')).toBeUndefined();
    expect(sessionToken('belfry_token=%E0%A4%A')).toBeUndefined();
    expect(sessionToken('belfry_token=')).toBeUndefined();
    expect(sessionToken(undefined)).toBeUndefined();
  });

  it('writes the cookie HttpOnly and SameSite=Strict, Secure over HTTPS', () => {
    expect(sessionCookie('t/k', true)).toBe(
      'belfry_token=t%2Fk; Max-Age=43200; HttpOnly; SameSite=Strict; Path=/; Secure',
    );
    expect(sessionCookie(null, false)).toBe('belfry_token=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/');
  });

  it('treats only GETs of the shell as public', () => {
    expect(isDashboardShell('GET', '/')).toBe(true);
    expect(isDashboardShell('GET', '/ui/triggers/x')).toBe(true);
    expect(isDashboardShell('HEAD', '/ui/assets/a.js')).toBe(true);
    expect(isDashboardShell('GET', '/ui/session')).toBe(false);
    expect(isDashboardShell('GET', '/ui/events')).toBe(false);
    expect(isDashboardShell('GET', '/ui/api/trigger-source')).toBe(false);
    expect(isDashboardShell('POST', '/ui/')).toBe(false);
    expect(isDashboardShell('GET', '/api/v1/triggers')).toBe(false);
    expect(isDashboardShell('GET', '/uix')).toBe(false);
  });
});
