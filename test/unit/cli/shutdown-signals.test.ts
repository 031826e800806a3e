import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onStopSignals, type SignalSource } from '../../../src/cli/shutdown-signals.js';
import type { Clock } from '../../../src/time/clock.js';

function setUp() {
  let nowMs = 0;
  const clock = { monotonicMs: () => nowMs } as unknown as Clock;
  const source = new EventEmitter() as unknown as SignalSource & EventEmitter;
  const calls: string[] = [];
  const remove = onStopSignals(
    {
      graceful: (signal) => calls.push(`graceful ${signal}`),
      urgent: (signal) => calls.push(`urgent ${signal}`),
    },
    { clock, source },
  );
  return { calls, source, remove, advance: (ms: number) => (nowMs += ms) };
}

describe('onStopSignals', () => {
  it('takes the copies of one Ctrl-C (terminal group SIGINT, npm forwarding, SIGTERM) as one request', () => {
    const { calls, source, advance } = setUp();
    source.emit('SIGINT', 'SIGINT');
    advance(5);
    source.emit('SIGINT', 'SIGINT');
    advance(100);
    source.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['graceful SIGINT']);
  });

  it('takes a signal after the window as a second, urgent request', () => {
    const { calls, source, advance } = setUp();
    source.emit('SIGTERM', 'SIGTERM');
    advance(1_000);
    source.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['graceful SIGTERM', 'urgent SIGINT']);
  });

  it('stops a terminal closing (SIGHUP) gracefully, and removes its handlers', () => {
    const { calls, source, remove } = setUp();
    source.emit('SIGHUP', 'SIGHUP');
    remove();
    expect(calls).toEqual(['graceful SIGHUP']);
    expect(
      source.listenerCount('SIGINT') + source.listenerCount('SIGTERM') + source.listenerCount('SIGHUP'),
    ).toBe(0);
  });
});
