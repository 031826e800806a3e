/**
 * Live updates for the dashboard: one subscription to the replica's event bus, fanned out to every open
 * browser over server-sent events. Nothing here queries the database: the bus already hears what the
 * replica does (its fires and executions) and what it learns from its LISTEN session and its leader
 * duties (leader changes, instances joining or declared dead, pauses), so a hundred open dashboards cost
 * the database nothing.
 *
 * Events are batched: at most one message per `flushMs` per browser, a JSON array of events. A browser
 * that does not read (its socket buffer past `maxBufferedBytes`) is disconnected; its EventSource
 * reconnects and the page reloads what it shows. A comment line every `heartbeatMs` keeps proxies and
 * the server's idle timeout from closing a quiet stream. The hub subscribes with its first browser and
 * unsubscribes with its last; `close()` ends every stream (the admin server calls it before closing, or
 * open streams would hold the server's close).
 */
import type { ServerResponse } from 'node:http';
import type { SchedulerEventName, SchedulerEvents } from '../index.js';

export interface EventFeed {
  on<E extends SchedulerEventName>(event: E, handler: (payload: SchedulerEvents[E]) => void): () => void;
}

export interface DashboardEvent {
  type: string;
  [key: string]: unknown;
}

export interface DashboardEventHubOptions {
  feed: EventFeed;
  instanceId?: () => string | undefined;
  flushMs?: number;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
}

const ERROR_CHARS = 500;

/** The bus's events as the browser sees them: names, times as ISO strings, errors shortened. */
function subscribe(feed: EventFeed, send: (event: DashboardEvent) => void): (() => void)[] {
  const execution = (e: SchedulerEvents['trigger:fired']) => ({
    executionId: e.executionId,
    trigger: e.trigger,
    group: e.group,
    job: e.job,
    scheduledAt: e.scheduledAt.toISOString(),
    firedAt: e.firedAt.toISOString(),
    attempt: e.attempt,
    instanceId: e.instanceId,
  });
  return [
    feed.on('trigger:fired', (e) => send({ type: 'fired', ...execution(e) })),
    feed.on('execution:started', (e) => send({ type: 'started', ...execution(e) })),
    feed.on('execution:finished', (e) =>
      send({
        type: 'finished',
        ...execution(e),
        status: e.status,
        durationMs: e.durationMs,
        error: e.error === null ? null : e.error.slice(0, ERROR_CHARS),
      }),
    ),
    feed.on('trigger:misfired', (e) =>
      send({
        type: 'misfired',
        trigger: e.trigger,
        group: e.group,
        job: e.job,
        scheduledAt: e.scheduledAt.toISOString(),
      }),
    ),
    feed.on('leader:elected', (e) => send({ type: 'leader', instanceId: e.instanceId, epoch: e.epoch })),
    feed.on('leader:lost', (e) => send({ type: 'leader-lost', instanceId: e.instanceId, epoch: e.epoch })),
    feed.on('instance:joined', (e) =>
      send({ type: 'instance-joined', instanceId: e.instanceId, name: e.name }),
    ),
    feed.on('instance:dead', (e) =>
      send({ type: 'instance-dead', instanceId: e.instanceId, name: e.name, reason: e.reason }),
    ),
    feed.on('trigger:paused', (e) => send({ type: 'paused', target: e.target, count: e.count })),
    feed.on('trigger:resumed', (e) => send({ type: 'resumed', target: e.target, count: e.count })),
  ];
}

interface Client {
  response: ServerResponse;
  pending: DashboardEvent[];
}

export class DashboardEventHub {
  readonly #clients = new Set<Client>();
  #unsubscribe: (() => void)[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #flushMs: number;
  readonly #heartbeatMs: number;
  readonly #maxBuffered: number;

  constructor(private readonly options: DashboardEventHubOptions) {
    this.#flushMs = options.flushMs ?? 250;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Streams events to `response` (its headers not yet sent) until the browser goes away. */
  attach(response: ServerResponse): void {
    if (this.#closed) {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { response, pending: [] };
    // The first message says which replica this stream follows (its events are this replica's).
    response.write(
      `retry: 3000\nevent: hello\ndata: ${JSON.stringify({ instanceId: this.options.instanceId?.() ?? null })}\n\n`,
    );
    this.#clients.add(client);
    response.on('close', () => this.#detach(client));
    if (this.#clients.size === 1) this.#start();
  }

  /** Sends an event to every browser (the bus's events arrive here too). */
  publish(event: DashboardEvent): void {
    if (this.#clients.size === 0) return;
    for (const client of this.#clients) client.pending.push(event);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#flushMs);
  }

  /** Ends every stream and stops listening. Safe to call twice. */
  close(): void {
    this.#closed = true;
    for (const client of [...this.#clients]) client.response.end();
    this.#clients.clear();
    this.#stop();
  }

  #start(): void {
    this.#unsubscribe = subscribe(this.options.feed, (event) => this.publish(event));
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) this.#write(client, ': keep-alive\n\n');
    }, this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  #stop(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    clearInterval(this.#heartbeat);
    clearTimeout(this.#flushTimer);
    this.#heartbeat = undefined;
    this.#flushTimer = undefined;
  }

  #detach(client: Client): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stop();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    for (const client of this.#clients) {
      if (client.pending.length === 0) continue;
      const batch = client.pending;
      client.pending = [];
      this.#write(client, `data: ${JSON.stringify(batch)}\n\n`);
    }
  }

  #write(client: Client, text: string): void {
    const { response } = client;
    if (response.writableLength > this.#maxBuffered) {
      // A browser that stopped reading: drop it rather than buffer without bound.
      response.destroy();
      this.#detach(client);
      return;
    }
    response.write(text);
  }
}
