/**
 * Holds the registered listeners and calls them safely.
 *
 * Safety: a hook is called in a try; a synchronous hook costs a function call and nothing else, an async
 * one is raced against `timeoutMs`. A hook that throws or times out is reported through `onFailure`
 * (logged and counted by the scheduler) and treated as having returned nothing. A timed-out hook is not
 * cancelled (JavaScript cannot); it runs on, but nobody waits for it.
 *
 * Listeners of one kind are called one after another in registration order, so a listener can rely on
 * the ones registered before it having seen the event (the built-ins are registered first).
 */
import type { Clock } from '../time/clock.js';
import type {
  ExecutionInfo,
  ExecutionResult,
  JobListener,
  MisfireInfo,
  SchedulerHook,
  SchedulerListener,
  TriggerListener,
  VetoInfo,
} from './listener.js';
import { compileMatcher, type ListenerMatcher, type MatchTest } from './listener-matcher.js';
import { BelfryError } from '../errors/belfry-error.js';

export interface ListenerFailure {
  listener: string;
  hook: string;
  error: unknown;
  timedOut: boolean;
}

export interface ListenerRegistryOptions {
  clock: Clock;
  timeoutMs: number;
  onFailure: (failure: ListenerFailure) => void;
}

/** Which jobs or triggers a listener hears: one matcher, several (any may match), or none (all). */
type Matchers = ListenerMatcher | readonly ListenerMatcher[];

interface Matched<L> {
  listener: L;
  /** For job listeners: (job, group); for trigger listeners: (trigger, group). */
  matches: MatchTest;
}

export class ListenerTimeoutError extends BelfryError.withCode('BELFRY_ERR_LISTENER_TIMEOUT') {}

type SchedulerPayload<H extends SchedulerHook> = Parameters<NonNullable<SchedulerListener[H]>>[0];

export class ListenerRegistry {
  readonly #jobs = new ListenerList<JobListener>('job');
  readonly #triggers = new ListenerList<TriggerListener>('trigger');
  readonly #schedulers = new ListenerList<SchedulerListener>('scheduler');
  readonly #background = new Set<Promise<void>>();

  constructor(private readonly options: ListenerRegistryOptions) {}

  addJobListener(listener: JobListener, matcher?: Matchers): () => boolean {
    return this.#jobs.add(listener, matcher);
  }

  removeJobListener(name: string): boolean {
    return this.#jobs.remove(name);
  }

  addTriggerListener(listener: TriggerListener, matcher?: Matchers): () => boolean {
    return this.#triggers.add(listener, matcher);
  }

  removeTriggerListener(name: string): boolean {
    return this.#triggers.remove(name);
  }

  addSchedulerListener(listener: SchedulerListener): () => boolean {
    return this.#schedulers.add(listener);
  }

  removeSchedulerListener(name: string): boolean {
    return this.#schedulers.remove(name);
  }

  /** Whether any job or trigger listener implements `hook` (the executor skips the call, and its await, if none does). */
  wants(
    hook: 'triggerFired' | 'vetoJobExecution' | 'jobToBeExecuted' | 'jobExecutionVetoed' | 'executed',
  ): boolean {
    switch (hook) {
      case 'triggerFired':
      case 'vetoJobExecution':
        return this.#triggers.entries.some((m) => m.listener[hook]);
      case 'jobToBeExecuted':
      case 'jobExecutionVetoed':
        return this.#jobs.entries.some((m) => m.listener[hook]);
      case 'executed':
        return (
          this.#jobs.entries.some((m) => m.listener.jobWasExecuted) ||
          this.#triggers.entries.some((m) => m.listener.triggerComplete)
        );
    }
  }

  get jobListenerNames(): string[] {
    return this.#jobs.names;
  }

  get triggerListenerNames(): string[] {
    return this.#triggers.names;
  }

  get schedulerListenerNames(): string[] {
    return this.#schedulers.names;
  }

  // ---- one execution attempt (called by the executor pool, inside the execution's span) ----------

  async triggerFired(execution: ExecutionInfo): Promise<void> {
    for (const { listener, matches } of this.#triggers.entries) {
      if (listener.triggerFired && matches(execution.trigger, execution.group)) {
        await this.#invoke(listener.name, 'triggerFired', () => listener.triggerFired!(execution));
      }
    }
  }

  /** The name of the first trigger listener that vetoes this attempt, or null. */
  async vetoer(execution: ExecutionInfo): Promise<string | null> {
    for (const { listener, matches } of this.#triggers.entries) {
      if (!listener.vetoJobExecution || !matches(execution.trigger, execution.group)) continue;
      const veto = await this.#invoke(listener.name, 'vetoJobExecution', () =>
        listener.vetoJobExecution!(execution),
      );
      if (veto === true) return listener.name;
    }
    return null;
  }

  async jobToBeExecuted(execution: ExecutionInfo): Promise<void> {
    for (const { listener, matches } of this.#jobs.entries) {
      if (listener.jobToBeExecuted && matches(execution.job, execution.group)) {
        await this.#invoke(listener.name, 'jobToBeExecuted', () => listener.jobToBeExecuted!(execution));
      }
    }
  }

  async jobExecutionVetoed(execution: ExecutionInfo, veto: VetoInfo): Promise<void> {
    for (const { listener, matches } of this.#jobs.entries) {
      if (listener.jobExecutionVetoed && matches(execution.job, execution.group)) {
        await this.#invoke(listener.name, 'jobExecutionVetoed', () =>
          listener.jobExecutionVetoed!(execution, veto),
        );
      }
    }
  }

  /** jobWasExecuted on the job listeners, then triggerComplete on the trigger listeners. */
  async executed(execution: ExecutionInfo, result: ExecutionResult): Promise<void> {
    for (const { listener, matches } of this.#jobs.entries) {
      if (listener.jobWasExecuted && matches(execution.job, execution.group)) {
        await this.#invoke(listener.name, 'jobWasExecuted', () =>
          listener.jobWasExecuted!(execution, result),
        );
      }
    }
    for (const { listener, matches } of this.#triggers.entries) {
      if (listener.triggerComplete && matches(execution.trigger, execution.group)) {
        await this.#invoke(listener.name, 'triggerComplete', () =>
          listener.triggerComplete!(execution, result),
        );
      }
    }
  }

  // ---- beside the loops ------------------------------------------------------------------------

  /** Notifies misfires without holding up the acquisition loop; `settle()` waits for them. */
  triggerMisfired(misfire: MisfireInfo): void {
    const targets = this.#triggers.entries.filter(
      (m) => m.listener.triggerMisfired && m.matches(misfire.trigger, misfire.group),
    );
    if (targets.length === 0) return;
    this.#track(
      (async () => {
        for (const { listener } of targets)
          await this.#invoke(listener.name, 'triggerMisfired', () => listener.triggerMisfired!(misfire));
      })(),
    );
  }

  /** Calls a scheduler hook on every scheduler listener, in order; resolves when all have returned. */
  async notifyScheduler<H extends SchedulerHook>(hook: H, payload: SchedulerPayload<H>): Promise<void> {
    for (const { listener } of this.#schedulers.entries) {
      const fn = listener[hook] as ((event: SchedulerPayload<H>) => void | Promise<void>) | undefined;
      if (fn) await this.#invoke(listener.name, hook, () => fn.call(listener, payload));
    }
  }

  /** Like notifyScheduler, without making the caller wait (heartbeats and loops must not). */
  notifySchedulerInBackground<H extends SchedulerHook>(hook: H, payload: SchedulerPayload<H>): void {
    if (!this.#schedulers.entries.some((m) => m.listener[hook])) return;
    this.#track(this.notifyScheduler(hook, payload));
  }

  /** Resolves when the notifications running beside the loops have settled (each is bounded by the timeout). */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  #track(promise: Promise<void>): void {
    this.#background.add(promise);
    void promise.finally(() => this.#background.delete(promise));
  }

  /** Calls one hook; a synchronous hook's value comes back synchronously (no promise, no timer). */
  #invoke<T>(
    listener: string,
    hook: string,
    call: () => T | Promise<T>,
  ): T | undefined | Promise<T | undefined> {
    let returned: T | Promise<T>;
    try {
      returned = call();
    } catch (error) {
      this.options.onFailure({ listener, hook, error, timedOut: false });
      return undefined;
    }
    return isThenable(returned) ? this.#bounded(listener, hook, returned) : returned;
  }

  async #bounded<T>(listener: string, hook: string, returned: Promise<T>): Promise<T | undefined> {
    const { clock, timeoutMs } = this.options;
    const timer = new AbortController();
    const timedOut = Symbol('timeout');
    try {
      const first = await Promise.race([returned, clock.sleep(timeoutMs, timer.signal).then(() => timedOut)]);
      if (first === timedOut) {
        const error = new ListenerTimeoutError(
          `listener "${listener}" ${hook} did not settle within ${timeoutMs} ms`,
        );
        this.options.onFailure({ listener, hook, error, timedOut: true });
        return undefined;
      }
      return first as T;
    } catch (error) {
      this.options.onFailure({ listener, hook, error, timedOut: false });
      return undefined;
    } finally {
      timer.abort();
    }
  }
}

/**
 * One kind's listeners, in registration order. The array is replaced, never changed in place, so a
 * notification already walking it is not disturbed by an add or a remove. A scheduler listener has no
 * matcher, so it matches everything.
 */
class ListenerList<L extends { name: string }> {
  #entries: readonly Matched<L>[] = [];

  constructor(private readonly kind: 'job' | 'trigger' | 'scheduler') {}

  get entries(): readonly Matched<L>[] {
    return this.#entries;
  }

  get names(): string[] {
    return this.#entries.map((m) => m.listener.name);
  }

  /** Registers the listener; returns its remover. */
  add(listener: L, matcher?: Matchers): () => boolean {
    if (typeof listener.name !== 'string' || listener.name.length === 0)
      throw new TypeError(`a ${this.kind} listener needs a name`);
    if (this.#entries.some((m) => m.listener.name === listener.name)) {
      throw new Error(`a ${this.kind} listener named "${listener.name}" is already registered`);
    }
    this.#entries = [...this.#entries, { listener, matches: compileMatcher(matcher) }];
    return () => this.remove(listener.name);
  }

  remove(name: string): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((m) => m.listener.name !== name);
    return this.#entries.length < before;
  }
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
