import pino from 'pino';
import { expect, it } from 'vitest';
import { SessionConnection } from '../../../src/cluster/session-connection.js';
import { systemClock } from '../../../src/time/clock.js';

it('opens nothing once closed (a step that outlived the shutdown deadline must not leave a session behind)', async () => {
  const session = new SessionConnection({
    connectionString: 'postgres://belfry@127.0.0.1:1/none',
    schema: 'belfry',
    lockNamespace: 1,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    onNotify: () => {},
    onLost: () => {},
    onReconnected: () => {},
  });
  await session.close();
  await expect(session.open(7)).rejects.toThrow('session connection is closed');
  expect(session.connected).toBe(false);
});
