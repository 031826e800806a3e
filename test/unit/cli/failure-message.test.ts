import { describe, expect, it } from 'vitest';
import { UnknownNameError } from '../../../src/operations/name-checks.js';
import {
  checkDatabaseUrl,
  describeFailure,
  describeFailureVerbose,
} from '../../../src/cli/failure-message.js';
import { SettingsError } from '../../../src/cli/settings.js';

describe('checkDatabaseUrl', () => {
  it.each([
    'postgres://u:p@db:5432/app',
    'postgresql://db/app?sslmode=require',
    'host=db user=app password=x',
    '/var/run/postgresql',
    'socket:/var/run/postgresql?db=app',
  ])('accepts %s', (url) => expect(checkDatabaseUrl(url, 'DATABASE_URL')).toBeUndefined());

  it.each([
    ['not a url', /DATABASE_URL is not a PostgreSQL URL/],
    ['mysql://root@db/app', /has the scheme "mysql:"/],
  ])('rejects %s', (url, message) => expect(checkDatabaseUrl(url, 'DATABASE_URL')).toMatch(message));
});

describe('describeFailure', () => {
  it('joins a multi-line message into one line and never shows a password', () => {
    const error = new SettingsError('bad\nthing at postgres://app:hunter2@db/app');
    expect(describeFailure(error)).toBe('bad; thing at postgres://app:[redacted]@db/app');
  });

  it('says what to do about an unknown name', () => {
    expect(describeFailure(new UnknownNameError('trigger', 'nightly'))).toMatch(
      /^unknown trigger "nightly": check the name/,
    );
  });

  it('points unexpected errors at --verbose, which shows the stack and the cause', () => {
    const error = new TypeError('x is undefined', { cause: new Error('root cause') });
    expect(describeFailure(error)).toBe('x is undefined (--verbose shows the stack)');
    expect(describeFailureVerbose(error)).toMatch(
      /TypeError: x is undefined\n\s+at [\s\S]*caused by: Error: root cause/,
    );
  });
});
