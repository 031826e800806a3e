/**
 * `npm run bench:dashboard`: the dashboard's numbers, on an embedded PostgreSQL (data under .tmp/,
 * removed at the end), a real replica in this process (scheduler + admin server on loopback) and
 * Debian's chromium:
 *
 * 1. first load on loopback: a fresh browser context (cold cache) opens /ui/ with its session cookie;
 *    timed from navigation to the overview's figures on screen; then warm reloads;
 * 2. the history page over N history rows (default 10 million): the API's page call (first page, the
 *    next 20 pages by cursor, a page 60 days back, filtered pages) and the browser's "Older" click;
 * 3. database transactions per minute with no dashboard open, then with 50 open dashboards (10 browser
 *    contexts × 5 pages on the overview, each with its live stream), after they loaded: the replica's
 *    own work is the same in both windows, so the difference is what the open dashboards cost.
 *
 *   npm run bench:dashboard                       the full run (10 M rows, 60 s windows)
 *   npm run bench:dashboard -- --rows 1000000 --window 20
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { chromium, type BrowserContext } from 'playwright-core';
import { registerAdminApi } from '../src/api/admin-api.js';
import { scheduleAhead } from '../src/api/schedule-routes.js';
import type { StoredTrigger } from '../src/store/definition-store.js';
import { compileSchedule, type ScheduleSpec } from '../src/time/schedule.js';
import { startAdminServer } from '../src/cli/admin-server.js';
import { createScheduler } from '../src/scheduler.js';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';
import { runMain } from './support/cleanup.js';
import { loadHistory } from './support/history-load.js';
import { startBenchServer } from './support/postgres.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    window: { type: 'string', default: '60' },
    dashboards: { type: 'string', default: '50' },
    explain: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const WINDOW_S = Number(args.window);
const DASHBOARDS = Number(args.dashboards);
const SCHEMA = 'belfry';
const TOKEN = 'bench-dashboard-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';
const CHUNK = 1_000_000;
const TRIGGERS = 200;
const JOBS = 50;

const log = (line: string) => process.stdout.write(`${line}\n`);
const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const p95 = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.95))]!;
const fmt = (values: number[]) =>
  `median ${median(values).toFixed(1)} ms, p95 ${p95(values).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`;

/** N history rows (bench/support/history-load.ts): 200 triggers of 50 jobs, the last ~89 days. */
async function generate(client: pg.Client): Promise<void> {
  await loadHistory(client, {
    schema: SCHEMA,
    rows: ROWS,
    triggers: TRIGGERS,
    jobs: JOBS,
    chunk: CHUNK,
    log,
  });
}

async function main(): Promise<void> {
  const server = await startBenchServer({ prefix: 'bench-dashboard' });
  const url = await server.createDatabase('dashboard');
  const database = openDatabase({ connectionString: url, schema: SCHEMA, maxConnections: 10 });
  await migrate(database.pool, SCHEMA);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  if (ROWS > 0) await generate(client);
  // Live triggers, so the replica has its own steady work in both windows.
  await client.query(`SET search_path TO ${SCHEMA}`);
  await client.query(`INSERT INTO jobs (name, source) VALUES ('noop', 'code') ON CONFLICT DO NOTHING`);
  await client.query(`
    INSERT INTO triggers (name, group_name, job_name, kind, spec, state, next_fire_at, source)
    SELECT format('live-%s', i), 'live', 'noop', 'interval', jsonb_build_object('kind', 'interval', 'everyMs', 5000),
           'waiting', now(), 'code' FROM generate_series(1, 5) i`);
  await client.end();

  if (args.explain) await explainOverview(url);
  const logger = pino({ level: 'warn' });
  const scheduler = createScheduler({ database, migrate: false, instanceName: 'bench-1', logger });
  scheduler.registerJob(
    'noop',
    class {
      execute() {}
    },
  );
  await scheduler.start();
  const admin = await startAdminServer({
    scheduler,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    rateLimit: false,
    logger,
    plugins: [(app) => registerAdminApi(app, { scheduler })],
  });
  const base = admin.url;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const cookie = {
    name: 'belfry_token',
    value: TOKEN,
    url: base,
    httpOnly: true,
    sameSite: 'Strict' as const,
  };
  const newContext = async (): Promise<BrowserContext> => {
    const context = await browser.newContext();
    await context.addCookies([cookie]);
    return context;
  };
  try {
    // 1. First load.
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      const context = await newContext();
      const page = await context.newPage();
      let started = now();
      await page.goto(`${base}/ui/`);
      await page.getByText('Lag p50 / p99').waitFor();
      cold.push(now() - started);
      if (i === cold.length - 1 && i === 6) {
        const entries = (await page.evaluate(
          `performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
             .map((e) => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.duration)])`,
        )) as [string, number, number][];
        log(
          `last cold load, each request (start ms, duration ms): ${entries.map((e) => e.join(' ')).join('; ')}`,
        );
      }
      started = now();
      await page.reload();
      await page.getByText('Lag p50 / p99').waitFor();
      warm.push(now() - started);
      await context.close();
    }
    log(`first load (cold cache, overview with data): ${fmt(cold)}`);
    log(`reload (warm cache): ${fmt(warm)}`);

    // 2. The history page.
    const api = async (path: string) => {
      const started = now();
      const response = await fetch(`${base}/api/v1${path}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await response.json()) as { rows: unknown[]; next: string | null };
      if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
      return { ms: now() - started, body };
    };
    const cases: [string, string][] = [
      ['first page (50 rows)', '/history/page?limit=50'],
      [
        '60 days back',
        `/history/page?limit=50&before=${encodeURIComponent(`${new Date(Date.now() - 60 * 86_400_000).toISOString()}~9223372036854775807`)}`,
      ],
      ['one trigger', '/history/page?limit=50&trigger=job-7.t107'],
      ['status failed', '/history/page?limit=50&status=failed'],
      ['group billing, failed, since 24h', '/history/page?limit=50&group=billing&status=failed&since=24h'],
    ];
    for (const [name, path] of cases) {
      const times: number[] = [];
      for (let i = 0; i < 12; i += 1) times.push((await api(path)).ms);
      log(`history API, ${name}: ${fmt(times.slice(2))}`);
    }
    const walk: number[] = [];
    let next: string | null = null;
    for (let i = 0; i < 21; i += 1) {
      const { ms, body } = await api(
        `/history/page?limit=50${next ? `&before=${encodeURIComponent(next)}` : ''}`,
      );
      if (i > 0) walk.push(ms);
      next = body.next;
    }
    log(`history API, pages 2-21 by cursor: ${fmt(walk)}`);
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${base}/ui/history`);
    await page.getByRole('link', { name: 'Older →' }).waitFor();
    const clicks: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const first = await page.locator('tbody tr td a').first().textContent();
      const started = now();
      await page.getByRole('link', { name: 'Older →' }).click();
      // A function, not a string: the page's CSP forbids evaluating strings.
      await page.waitForFunction((previous) => {
        const { document } = globalThis as unknown as {
          document: { querySelector(selector: string): { textContent: string | null } | null };
        };
        const link = document.querySelector('tbody tr td a');
        return !!link && link.textContent !== previous && !!document.querySelector('a[rel="next"]');
      }, first);
      clicks.push(now() - started);
    }
    log(`history page in the browser, "Older" click to the next 50 rows on screen: ${fmt(clicks)}`);
    await context.close();

    // 3. Database load: none open, then DASHBOARDS open.
    // PostgreSQL backends report their counters when idle for up to 10 s: settle 12 s before each
    // reading, so the page loads before a window are not counted in it.
    const settle = () => sleep(12_000);
    const perMinute = async (label: string) => {
      await settle();
      const before = await server.transactions('dashboard');
      await sleep(WINDOW_S * 1000);
      const after = await server.transactions('dashboard');
      const rate = ((after - before) * 60) / WINDOW_S;
      log(`database transactions per minute, ${label}: ${rate.toFixed(0)}`);
      return rate;
    };
    const idle = await perMinute('no dashboard open');
    const contexts: BrowserContext[] = [];
    await settle();
    const loadStart = await server.transactions('dashboard');
    for (let c = 0; c < Math.ceil(DASHBOARDS / 5); c += 1) {
      const ctx = await newContext();
      contexts.push(ctx);
      for (let p = 0; p < 5 && c * 5 + p < DASHBOARDS; p += 1) {
        const tab = await ctx.newPage();
        await tab.goto(`${base}/ui/`);
        await tab.getByText('Lag p50 / p99').waitFor();
        await tab.locator('.live.on').waitFor();
      }
    }
    await settle();
    log(
      `transactions to load ${DASHBOARDS} overviews: ${(await server.transactions('dashboard')) - loadStart}`,
    );
    const open = await perMinute(`${DASHBOARDS} dashboards open (overview, live stream connected)`);
    log(
      `difference: ${(open - idle).toFixed(0)} per minute (${(((open - idle) / idle) * 100).toFixed(1)} %)`,
    );
    for (const ctx of contexts) await ctx.close();

    // 4. The schedule ahead of 10,000 triggers (the pure computation behind GET /schedule/ahead).
    const at = new Date();
    const entries = Array.from({ length: 10_000 }, (_, i) => {
      const spec: ScheduleSpec = { kind: 'cron', expression: `${i % 15}/15 * * * *`, timezone: 'UTC' };
      const schedule = compileSchedule(spec);
      const trigger = {
        name: `t-${i}`,
        group: `g-${i % 20}`,
        job: 'noop',
        state: 'waiting',
        nextFireAt: schedule.next(at),
        endAt: null,
        maxFires: null,
        timesFired: 0,
      } as unknown as StoredTrigger;
      return { trigger, schedule, error: null };
    });
    const computeMs: number[] = [];
    let fires = 0;
    for (let i = 0; i < 5; i += 1) {
      const started = now();
      fires = scheduleAhead(entries, at).fires;
      computeMs.push(now() - started);
    }
    log(`schedule ahead of 10,000 triggers (${fires.toLocaleString()} fires in 24 h): ${fmt(computeMs)}`);
  } finally {
    await browser.close();
    await admin.close();
    await scheduler.stop();
    await server.stop();
  }
}

/** The overview's queries with their plans (--explain), through the store on a kysely logger. */
async function explainOverview(url: string): Promise<void> {
  const { overviewStats, stuckExecutions } = await import('../src/store/dashboard-store.js');
  const { Kysely, PostgresDialect } = await import('kysely');
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const db = new Kysely<never>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query')
        statements.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  const ex = { db, schema: SCHEMA } as never;
  for (let i = 0; i < 3; i += 1) {
    let started = now();
    await overviewStats(ex);
    log(`overviewStats: ${(now() - started).toFixed(1)} ms`);
    started = now();
    await stuckExecutions(ex, { pendingMs: 60_000, runningMs: 3_600_000, limit: 20 });
    log(`stuckExecutions: ${(now() - started).toFixed(1)} ms`);
  }
  for (const statement of statements.slice(0, 3)) {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`,
      statement.parameters as unknown[],
    );
    log(rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
  await db.destroy();
}

await runMain(main);
