/** The readiness probe's cache, its timeout, and a close that an unreachable database cannot hold up. */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessProbe, type ProbeTarget } from '../../../src/api/readiness-probe.js';
import type { SchedulerHealth } from '../../../src/scheduler-options.js';
import type { Clock } from '../../../src/time/clock.js';

// A "database" that accepts connections and never answers: connects and queries hang.
let blackhole: Server;
let port: number;
const sockets: Socket[] = [];
beforeAll(async () => {
  blackhole = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  port = (blackhole.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => blackhole.close(resolve));
});

function target(): ProbeTarget & { calls: number } {
  return {
    calls: 0,
    instanceId: 'i-1',
    isLeader: false,
    database: { connectionString: `postgres://u:p@127.0.0.1:${port}/db`, schema: 'belfry' },
    async health(probe): Promise<SchedulerHealth> {
      this.calls += 1;
      const current = await probe!.migrationsCurrent!().catch(() => null);
      return {
        alive: true,
        ready: current === true,
        databaseReachable: current !== null,
        migrationsCurrent: current === true,
        shuttingDown: false,
        isLeader: false,
        instanceId: 'i-1',
      };
    },
  };
}

describe('ReadinessProbe', () => {
  it('answers not ready within its timeout when the database hangs, and closes promptly', async () => {
    const scheduler = target();
    const probe = new ReadinessProbe({
      scheduler,
      clock: { now: () => new Date(0), monotonicMs: () => performance.now() } as Clock,
      timeoutMs: 300,
    });
    const started = performance.now();
    const health = await probe.check();
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(health).toMatchObject({ ready: false, databaseReachable: false });
    const closing = performance.now();
    await probe.close();
    expect(performance.now() - closing).toBeLessThan(1_500);
  });

  it('serves one result for cacheMs, and shares the check in flight', async () => {
    let now = 0;
    const scheduler = target();
    scheduler.health = async function () {
      this.calls += 1;
      return { ready: true } as SchedulerHealth;
    };
    const probe = new ReadinessProbe({
      scheduler,
      clock: { now: () => new Date(0), monotonicMs: () => now } as Clock,
      cacheMs: 1_000,
    });
    await Promise.all([probe.check(), probe.check(), probe.check()]);
    now = 999;
    await probe.check();
    expect(scheduler.calls).toBe(1);
    now = 1_000;
    await probe.check();
    expect(scheduler.calls).toBe(2);
    await probe.close();
  });
});
