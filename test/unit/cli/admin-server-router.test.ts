/**
 * The admin server's router limit: names up to 1,024 characters reach the routes (fastify's default is
 * 100), longer ones are refused with 414, and the limit is set where fastify 5 reads it (routerOptions),
 * so starting a replica prints no FSTDEP022 deprecation warning (fastify 6 drops the top-level option).
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
process.on('warning', onWarning);
let app: FastifyInstance | undefined;

afterAll(async () => {
  process.off('warning', onWarning);
  await app?.close();
});

it('takes names up to 1,024 characters, refuses longer ones, and warns of nothing deprecated', async () => {
  // The guard and the probe only read the scheduler when a probe runs; none does here.
  const scheduler = { instanceId: 'stub' } as unknown as Scheduler;
  app = await buildAdminApp({
    scheduler,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    plugins: [
      (instance) => {
        instance.get<{ Params: { name: string } }>('/echo/:name', (request) => ({
          length: request.params.name.length,
        }));
      },
    ],
  });
  await app.ready();
  const get = (name: string) => app!.inject({ url: `/echo/${name}`, headers: { host: '127.0.0.1:8080' } });

  const long = await get('n'.repeat(1_024));
  expect(long.statusCode).toBe(200);
  expect(long.json()).toEqual({ length: 1_024 });
  expect((await get('n'.repeat(1_025))).statusCode).toBe(414);
  // process.emitWarning reports on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  expect(warnings.map((warning) => `${(warning as { code?: string }).code}: ${warning.message}`)).toEqual([]);
});
