/**
 * The scheduler's typed events. Tests wait on them instead of sleeping; listeners (audit, metrics,
 * tracing, logging) are built on them. Emitting never throws: a failing handler is reported through
 * `onHandlerError` and scheduling goes on.
 */
import { EventEmitter } from 'node:events';
import type { ExecutionStatus } from '../store/tables.js';

export interface ExecutionEvent {
  executionId: string;
  fireId: string;
  job: string;
  trigger: string;
  group: string;
  scheduledAt: Date;
  firedAt: Date;
  attempt: number;
  instanceId: string;
}

export interface SchedulerEvents {
  'scheduler:started': { instanceId: string };
  'scheduler:stopping': { instanceId: string };
  'scheduler:stopped': { instanceId: string };
  'scheduler:error': { service: string; error: unknown };
  'database:unavailable': { service: string; error: unknown };
  'database:available': { service: string };
  'trigger:fired': ExecutionEvent;
  'trigger:misfired': { trigger: string; group: string; job: string; scheduledAt: Date; note: string | null };
  /** After each acquisition transaction (also an empty one): its size and how long it took. */
  'acquisition:finished': { batchSize: number; durationMs: number };
  'execution:skipped': ExecutionEvent & { reason: string };
  'execution:started': ExecutionEvent;
  'execution:finished': ExecutionEvent & {
    status: Extract<ExecutionStatus, 'succeeded' | 'failed' | 'timed_out' | 'abandoned' | 'recovered'>;
    error: string | null;
    durationMs: number;
    retryAfterMs: number | null;
    /** False when the outcome was not recorded because the leader had taken the execution away. */
    recorded: boolean;
  };
  /** A trigger listener vetoed the attempt; it is recorded as `vetoed` (the job did not run). */
  'execution:vetoed': ExecutionEvent & { listener: string; recorded: boolean };
  'execution:recovered': {
    executionId: string;
    job: string;
    instanceId: string;
    nextExecutionId: string | null;
  };
  'execution:abandoned': { executionId: string; job: string; instanceId: string };
  /**
   * An acquired or claimed attempt that this replica did not start: handed back as pending at shutdown
   * (`handedBack`), or left to the leader's recovery because its instance was declared dead.
   */
  'execution:released': ExecutionEvent & { reason: string; handedBack: boolean };
  'leader:elected': { instanceId: string; epoch: number };
  'leader:lost': { instanceId: string; epoch: number; reason: string };
  'instance:joined': { instanceId: string; name: string };
  'instance:dead': { instanceId: string; name: string; reason: string };
  'instance:fenced': { instanceId: string; reason: string };
  /** pause()/resume() on this replica changed `count` triggers. */
  'trigger:paused': {
    target: { trigger?: string; job?: string; group?: string; all?: boolean };
    count: number;
  };
  'trigger:resumed': {
    target: { trigger?: string; job?: string; group?: string; all?: boolean };
    count: number;
  };
  /** A service shard's run started on this replica (docs/services.md). */
  'service:started': { service: string; shard: number; epoch: number; instanceId: string };
  /** A service shard's run ended on this replica: stopped, crashed, lost, handed over. */
  'service:stopped': { service: string; shard: number; epoch: number; instanceId: string; reason: string };
  /** A listener hook threw or timed out (scheduling went on). */
  'listener:failed': { listener: string; hook: string; error: unknown; timedOut: boolean };
}

export type SchedulerEventName = keyof SchedulerEvents;

export class SchedulerEventBus {
  readonly #emitter = new EventEmitter({ captureRejections: false });

  constructor(private readonly onHandlerError: (event: string, error: unknown) => void = () => {}) {
    this.#emitter.setMaxListeners(0);
  }

  on<E extends SchedulerEventName>(event: E, handler: (payload: SchedulerEvents[E]) => void): () => void {
    const wrapped = (payload: SchedulerEvents[E]) => {
      try {
        const result = handler(payload) as unknown;
        if (result instanceof Promise) result.catch((error) => this.onHandlerError(event, error));
      } catch (error) {
        this.onHandlerError(event, error);
      }
    };
    this.#emitter.on(event, wrapped);
    return () => this.#emitter.off(event, wrapped);
  }

  once<E extends SchedulerEventName>(
    event: E,
    predicate: (payload: SchedulerEvents[E]) => boolean = () => true,
  ): Promise<SchedulerEvents[E]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        if (!predicate(payload)) return;
        off();
        resolve(payload);
      });
    });
  }

  emit<E extends SchedulerEventName>(event: E, payload: SchedulerEvents[E]): void {
    try {
      this.#emitter.emit(event, payload);
    } catch (error) {
      this.onHandlerError(event, error);
    }
  }
}
