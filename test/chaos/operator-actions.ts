/**
 * Operator actions for the chaos test, run between and during the faults through the same operations the
 * CLI and the admin API use: `apply` (applyDefinitions, with schedule and end changes, and a prune),
 * pause and resume of a trigger, a job and a group (setPaused), and fireNow bursts (fireJob).
 *
 * Each action writes down what the checker needs to judge it soundly:
 *   - every schedule change, with the database-time bracket it committed in (`now()` just before and just
 *     after), so the expected-fires model follows the change (src/audit/expected-fires.ts);
 *   - every one-off it fired, so the test can demand exactly one fire for each.
 * The triggers are split so that no judgement depends on two actions at once: `yaml-*` triggers are only
 * ever rescheduled, `ops-*` triggers only paused and resumed (a reschedule of a paused trigger would make
 * the fires missed before it a matter of opinion).
 */
import { sql } from 'kysely';
import { applyDefinitions } from '../../src/config/definition-reconciler.js';
import type { Definitions, TriggerDefinition } from '../../src/config/definitions.js';
import { fireJob } from '../../src/operations/fire-operations.js';
import { setPaused } from '../../src/operations/pause-operations.js';
import type { ScheduleHistory } from '../../src/audit/history-auditor.js';
import type { ScheduleVersion } from '../../src/audit/expected-fires.js';
import type { PauseTarget } from '../../src/store/definition-store.js';
import type { Executor } from '../../src/store/executor.js';
import type { ScheduleSpec } from '../../src/time/schedule.js';
import { defineTrigger } from '../support/fixtures.js';

export const YAML_TRIGGERS = 16;
export const PRUNED_TRIGGERS = 4;
export const OPS_TRIGGERS = 12;
const INTERVALS = [1000, 1500, 2000];

interface YamlTrigger {
  name: string;
  job: string;
  version: ScheduleVersion;
}

export interface ActionCounts {
  applies: number;
  scheduleChanges: number;
  pauses: Record<'trigger' | 'job' | 'group', number>;
  fireNow: number;
  prunes: number;
  failed: number;
}

export class OperatorActions {
  readonly history = new Map<string, ScheduleHistory>();
  readonly oneOffs: string[] = [];
  readonly counts: ActionCounts = {
    applies: 0,
    scheduleChanges: 0,
    pauses: { trigger: 0, job: 0, group: 0 },
    fireNow: 0,
    prunes: 0,
    failed: 0,
  };
  readonly errors: string[] = [];
  /** Differences between the schedule model and the stored triggers, read back after each apply. */
  readonly drift: string[] = [];
  #yaml: YamlTrigger[] = [];
  #pruned = false;
  #firstCycle = true;
  #cycle: string[] = [];

  constructor(
    private readonly executor: () => Executor,
    private readonly log: (message: string) => void,
    private readonly endBase: Date,
  ) {}

  /** Creates the `yaml-*` triggers by an apply, and the `ops-*` triggers (job `ops-sleep`, groups ops-a/b). */
  async setUp(nextFireAt: Date): Promise<void> {
    for (let i = 0; i < YAML_TRIGGERS + PRUNED_TRIGGERS; i += 1) {
      this.#yaml.push({
        name: i < YAML_TRIGGERS ? `yaml-${i}` : `yaml-prune-${i - YAML_TRIGGERS}`,
        job: i % 2 ? 'sleep-recover' : 'sleep',
        version: {
          spec: { kind: 'interval', everyMs: 1000 },
          endAt: new Date(this.endBase.getTime() + 3_600_000),
        },
      });
    }
    await applyDefinitions(this.executor(), this.#definitions());
    const policies = ['skip', 'fire-all', 'fire-once-now'] as const;
    for (let i = 0; i < OPS_TRIGGERS; i += 1) {
      await defineTrigger(
        this.executor(),
        {
          name: `ops-${i}`,
          job: 'ops-sleep',
          group: i % 2 ? 'ops-a' : 'ops-b',
          spec: { kind: 'interval', everyMs: 500 },
          misfirePolicy: policies[i % 3]!,
          // Short, so a pause of a few seconds misfires and each policy has work to do.
          misfireThresholdMs: 1_500,
        },
        nextFireAt,
      );
    }
  }

  /**
   * One action. The first cycle runs each kind once, in a shuffled order, so even a short run has them
   * all; after that they are random. Pauses resume before returning: at most one pause is open at a time.
   */
  async step(): Promise<void> {
    if (this.#cycle.length === 0 && this.#firstCycle) {
      this.#firstCycle = false;
      this.#cycle = shuffle(['reschedule', 'pause-trigger', 'pause-job', 'pause-group', 'fire', 'prune']);
    }
    const kind = this.#cycle.shift() ?? pick(['reschedule', 'reschedule', 'pause', 'pause', 'fire'] as const);
    try {
      if (kind === 'reschedule') await this.#reschedule();
      else if (kind === 'prune') await this.#prune();
      else if (kind === 'fire') await this.#fireBurst();
      else if (kind === 'pause') await this.#pauseAndResume(pick(['trigger', 'job', 'group'] as const));
      else await this.#pauseAndResume(kind.slice('pause-'.length) as keyof ActionCounts['pauses']);
    } catch (error) {
      this.counts.failed += 1;
      this.errors.push(`${kind}: ${(error as Error).message}`);
      this.log(`operator action ${kind} failed: ${(error as Error).message}`);
    }
  }

  async #dbNow(): Promise<Date> {
    const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(this.executor().db);
    return rows[0]!.now;
  }

  /** Moves the end of every yaml trigger (the apply race of issue 10, item 1) and the interval of two. */
  async #reschedule(): Promise<void> {
    const live = this.#live();
    const respaced = new Set([pick(live).name, pick(live).name]);
    const before = new Map(live.map((t) => [t.name, t.version]));
    const endAt = new Date(this.endBase.getTime() + 60_000 + Math.floor(Math.random() * 3_600) * 1000);
    for (const trigger of live) {
      const current = trigger.version.spec as { kind: 'interval'; everyMs: number };
      const everyMs = respaced.has(trigger.name)
        ? pick(INTERVALS.filter((ms) => ms !== current.everyMs))
        : current.everyMs;
      trigger.version = { spec: { kind: 'interval', everyMs }, endAt };
    }
    const notBefore = await this.#dbNow();
    try {
      await applyDefinitions(this.executor(), this.#definitions());
    } catch (error) {
      for (const trigger of live) trigger.version = before.get(trigger.name)!;
      throw error;
    }
    const notAfter = await this.#dbNow();
    await this.#verifyStored(live);
    for (const trigger of live) {
      const from = before.get(trigger.name)!;
      const history = this.history.get(trigger.name) ?? { initial: from, changes: [] };
      history.changes.push({ notBefore, notAfter, to: trigger.version });
      this.history.set(trigger.name, history);
      this.counts.scheduleChanges += 1;
    }
    this.counts.applies += 1;
    this.log(`apply: end of ${live.length} yaml triggers moved; ${[...respaced].join(', ')} respaced`);
  }

  /** The model is only as good as its match with what was stored: read it back after every apply. */
  async #verifyStored(live: readonly YamlTrigger[]): Promise<void> {
    const { rows } = await sql<{ name: string; spec: unknown; end_at: Date | null }>`
      SELECT name, spec, end_at FROM ${sql.table(`${this.executor().schema}.triggers`)}
       WHERE name = ANY(${live.map((t) => t.name)})`.execute(this.executor().db);
    const stored = new Map(rows.map((row) => [row.name, row]));
    for (const trigger of live) {
      const row = stored.get(trigger.name);
      if (
        !row ||
        JSON.stringify(row.spec) !== JSON.stringify(trigger.version.spec) ||
        row.end_at?.getTime() !== trigger.version.endAt?.getTime()
      )
        this.drift.push(
          `${trigger.name}: stored ${JSON.stringify(row?.spec)} ${row?.end_at?.toISOString()}, model ${JSON.stringify(trigger.version.spec)} ${trigger.version.endAt?.toISOString()}`,
        );
    }
  }

  async #prune(): Promise<void> {
    if (this.#pruned) return;
    this.#pruned = true;
    const plan = await applyDefinitions(this.executor(), this.#definitions(), { prune: true });
    const removed = plan.entries.filter((entry) => entry.action === 'remove').map((entry) => entry.name);
    this.counts.prunes += 1;
    this.log(`apply --prune: removed ${removed.join(', ')}`);
    if (removed.length !== PRUNED_TRIGGERS) throw new Error(`prune removed ${removed.join(', ')}`);
  }

  async #pauseAndResume(kind: keyof ActionCounts['pauses']): Promise<void> {
    const target: PauseTarget =
      kind === 'trigger'
        ? { trigger: `ops-${Math.floor(Math.random() * OPS_TRIGGERS)}` }
        : kind === 'job'
          ? { job: 'ops-sleep' }
          : { group: pick(['ops-a', 'ops-b']) };
    const pauseMs = 1_000 + Math.floor(Math.random() * 3_000);
    await setPaused(this.executor(), { target, paused: true });
    this.counts.pauses[kind] += 1;
    this.log(`pause ${JSON.stringify(target)} for ${pauseMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    // Resumed whatever happens: a trigger left paused would owe fires the audit cannot expect.
    for (let tries = 0; ; tries += 1) {
      try {
        await setPaused(this.executor(), { target, paused: false });
        return;
      } catch (error) {
        if (tries >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async #fireBurst(): Promise<void> {
    const size = 5 + Math.floor(Math.random() * 15);
    const fired = await Promise.all(
      Array.from({ length: size }, () => fireJob(this.executor(), { job: 'sleep', at: null, data: null })),
    );
    this.oneOffs.push(...fired.map(({ trigger }) => trigger.name));
    this.counts.fireNow += size;
    this.log(`fireNow burst of ${size}`);
  }

  #live(): YamlTrigger[] {
    return this.#yaml.filter((t) => !(this.#pruned && t.name.startsWith('yaml-prune-')));
  }

  #definitions(): Definitions {
    const at = { file: 'chaos.yaml', line: 1, column: 1 };
    const triggers: TriggerDefinition[] = this.#live().map((trigger) => ({
      name: trigger.name,
      paused: undefined,
      at,
      record: {
        name: trigger.name,
        group: 'yaml',
        job: trigger.job,
        kind: (trigger.version.spec as ScheduleSpec).kind,
        spec: trigger.version.spec,
        calendarName: null,
        data: null,
        priority: 0,
        startAt: null,
        endAt: trigger.version.endAt,
        maxFires: null,
        misfirePolicy: 'fire-once-now',
        misfireThresholdMs: 60_000,
        source: 'yaml',
      },
    }));
    return { files: ['chaos.yaml'], calendars: [], jobs: [], triggers };
  }
}

function shuffle<T>(list: T[]): T[] {
  return list
    .map((item) => ({ item, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ item }) => item);
}

function pick<T>(list: readonly T[]): T {
  return list[Math.floor(Math.random() * list.length)]!;
}
