/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real cluster:
 * two `belfry start` processes sharing one schema, each with its admin server and the dashboard. It logs
 * in with a token, watches live fires, pauses and resumes, fires now, filters the history, opens an
 * execution, reads a holiday off the month calendar, checks that the read-only token cannot act and that
 * no state changes without the API's CSRF protections. axe-core checks every page (no serious or
 * critical violations) and each page's screenshot is taken (docs/dashboard/*.png with
 * BELFRY_UPDATE_SCREENSHOTS=1 or when missing; .tmp/dashboard/ otherwise).
 *
 * Without chromium the file skips with a message, except under CI=true, where that fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/embedded-postgres.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../support/cluster.js';
import { testDatabaseUrl, useTestSchema } from '../support/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'e2e-admin-token-0123456789';
const READ = 'e2e-read-token-0123456789';
const SHOTS_DIR = join(ROOT, 'docs', 'dashboard');
const UPDATE_SHOTS = process.env.BELFRY_UPDATE_SCREENSHOTS === '1';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true')
  throw new Error(`chromium is required under CI=true (${CHROMIUM}): apt-get install chromium`);
if (!hasChromium) console.warn(`[dashboard e2e] skipped: no ${CHROMIUM} (apt-get install chromium)`);

/** Two days ahead, UTC: a holiday inside the next 10 daily fires. */
const holiday = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);

const database = useTestSchema();
let dir: string;
let replicas: ReplicaHandle[] = [];
let ports: number[] = [];
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let base: string;
const axeSource = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

function definitions(): string {
  return `
calendars:
  e2e-holidays:
    type: holiday
    dates: [{ date: "${holiday}", name: Founders Day }]
jobs:
  ok:
    module: ./ok.mjs
  report:
    module: ./ok.mjs
  flaky:
    module: ./boom.mjs
triggers:
  tick:
    job: ok
    every: 1s
    group: live
  boom:
    job: flaky
    every: 2s
    group: live
  nightly:
    job: report
    cron: "0 9 * * *"
    timezone: UTC
    calendar: e2e-holidays
    group: reports
services:
  e2e-feed:
    module: ./feed.mjs
    shards: 2
`;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}/api/v1${path}`, {
    signal: AbortSignal.timeout(5_000),
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers ?? {}) },
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function until<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** axe-core in the page (evaluated over the DevTools protocol, so the page's CSP stays on). */
async function audit(target: Page, name: string): Promise<void> {
  await target.evaluate(axeSource);
  const violations = await target.evaluate(async () => {
    const result = await (
      globalThis as unknown as {
        axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
      }
    ).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${name}: axe violations`).toEqual([]);
}

async function shot(target: Page, name: string): Promise<void> {
  const file = join(SHOTS_DIR, `${name}.png`);
  const path = UPDATE_SHOTS || !existsSync(file) ? file : join(ROOT, '.tmp', 'dashboard', `${name}.png`);
  mkdirSync(join(path, '..'), { recursive: true });
  await target.screenshot({ path, fullPage: true });
}

async function login(context: BrowserContext, token: string): Promise<Page> {
  const p = await context.newPage();
  await p.goto(`${base}/ui/`);
  await p.getByLabel('Access token').fill(token);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByRole('navigation', { name: 'Pages' }).waitFor();
  return p;
}

// Each test waits on live state (fires, shard leases) with bounded waits of up to 15 s each, so its own
// budget is larger than the suite's 30 s default: a loaded CI machine is slow, not wrong.
describe.skipIf(!hasChromium)(
  'the dashboard in chromium, against a cluster of two replicas',
  { timeout: 90_000 },
  () => {
    beforeAll(async () => {
      execFileSync(process.execPath, [join(ROOT, 'scripts', 'ensure-ui.js')], { stdio: 'inherit' });
      dir = mkdtempSync(join(tmpdir(), 'belfry-e2e-'));
      writeFileSync(join(dir, 'ok.mjs'), 'export default class Ok { async execute() {} }\n');
      writeFileSync(
        join(dir, 'boom.mjs'),
        'export default class Boom { async execute() { throw new Error("boom: the report backend said no"); } }\n',
      );
      writeFileSync(
        join(dir, 'feed.mjs'),
        `export default class Feed {
  async run(ctx) {
    let n = (await ctx.checkpoint.get())?.position ?? 0;
    while (!ctx.signal.aborted) {
      await ctx.checkpoint.set({ position: ++n });
      ctx.health('healthy', { position: n });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
`,
      );
      writeFileSync(join(dir, 'belfry.yaml'), definitions());
      ports = [await freePort(), await freePort()];
      replicas = ports.map((port, i) =>
        spawnReplica({
          name: `e2e-${i + 1}`,
          databaseUrl: testDatabaseUrl(),
          schema: database.schema,
          command: [
            process.execPath,
            join(ROOT, 'bin', 'belfry.js'),
            'start',
            '--config',
            join(dir, 'belfry.yaml'),
            '--name',
            `e2e-${i + 1}`,
          ],
          env: {
            BELFRY_HTTP_PORT: String(port),
            BELFRY_HTTP_TOKEN: ADMIN,
            BELFRY_HTTP_READ_TOKEN: READ,
            BELFRY_LOG_LEVEL: 'warn',
            BELFRY_SHUTDOWN_TIMEOUT: '5s',
            BELFRY_TRACE_URL: 'http://jaeger.example:16686/trace/{traceId}',
          },
        }),
      );
      base = `http://127.0.0.1:${ports[0]}`;
      const [launched] = await Promise.all([
        chromium.launch({
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
        }),
        ...ports.map((port) =>
          until(async () => {
            if (replicas.some((r) => r.child.exitCode !== null)) throw new Error('a replica exited at start');
            return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok;
          }, 45_000),
        ),
      ]);
      browser = launched;
      admin = await browser.newContext({ colorScheme: 'light', viewport: { width: 1280, height: 860 } });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await stopReplicas(replicas);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('shows the login form, and logs in with a token into an HttpOnly, SameSite=Strict cookie', async () => {
      const p = await admin.newPage();
      await p.goto(`${base}/`);
      expect(p.url()).toBe(`${base}/ui/`);
      await p.getByLabel('Access token').waitFor();
      await audit(p, 'login');
      await shot(p, 'login');
      await p.getByLabel('Access token').fill('not-the-token-at-all');
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.getByText('That token is not valid.').waitFor();
      await p.close();
      page = await login(admin, ADMIN);
      const [cookie] = await admin.cookies();
      expect(cookie).toMatchObject({ name: 'belfry_token', httpOnly: true, sameSite: 'Strict' });
      // The token never reaches the page's scripts.
      expect(
        await page.evaluate(
          () => (globalThis as unknown as { document: { cookie: string } }).document.cookie,
        ),
      ).toBe('');
    });

    it('sees live fires arrive on the overview', async () => {
      await page.goto(`${base}/ui/`);
      await page.getByText('live', { exact: true }).waitFor();
      await until(async () => Number(await page.getByTestId('live-fires').textContent()) >= 3);
      await page.getByRole('heading', { name: 'Instances' }).waitFor();
      await page.getByRole('cell', { name: 'e2e-2' }).waitFor();
      await audit(page, 'overview');
      await shot(page, 'overview');
    });

    it('pauses and resumes a trigger, and the history shows the gap', async () => {
      await page.goto(`${base}/ui/triggers/tick`);
      await page.getByTestId('schedule-words').getByText('every 1s').waitFor();
      await page.getByRole('button', { name: 'Pause' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
      await page.getByTestId('trigger-state').getByText('paused').waitFor();
      const pausedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      await page.getByRole('button', { name: 'Resume' }).click();
      const resumedAt = Date.now();
      await page.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
      await page.getByTestId('trigger-state').getByText('waiting').waitFor();
      // Nothing fired while it was paused (a second of slack for a fire in flight): the fires it missed
      // were recorded after the resume, late, as its misfire policy (fire-once-now) says.
      const { body: rows } = await api<{ firedAt: string; scheduledAt: string }[]>(
        `/history?trigger=tick&since=${new Date(pausedAt - 5_000).toISOString()}`,
      );
      const firedWhilePaused = rows.filter((r) => {
        const at = Date.parse(r.firedAt);
        return at > pausedAt + 1_000 && at < resumedAt;
      });
      expect(firedWhilePaused).toEqual([]);
      // And it fires again after the resume, which the history page shows.
      await page.goto(`${base}/ui/history?trigger=tick&since=${new Date(resumedAt).toISOString()}`);
      await until(async () => {
        if ((await page.getByRole('link', { name: /^#\d+$/ }).count()) > 0) return true;
        await page.reload();
        return false;
      });
      const { body: audits } = await api<{ operation: string }[]>('/audit?limit=10');
      expect(audits.map((a) => a.operation)).toEqual(
        expect.arrayContaining(['pauseTrigger', 'resumeTrigger']),
      );
    });

    it('fires a trigger’s job now', async () => {
      await page.goto(`${base}/ui/triggers/nightly`);
      await page.getByRole('button', { name: 'Fire now' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Fire now' }).click();
      await page.getByText(/Fired as /).waitFor();
      await until(async () => (await api<unknown[]>('/history?job=report&status=succeeded')).body.length > 0);
      await page.goto(`${base}/ui/history?job=report`);
      await page.getByRole('cell', { name: 'succeeded' }).first().waitFor();
    });

    it('explains the holiday on the month calendar and in the next fires', async () => {
      await page.goto(`${base}/ui/triggers/nightly?month=${holiday.slice(0, 7)}`);
      const day = page.locator(`td[data-date="${holiday}"]`);
      await day.getByText(/Founders Day \(e2e-holidays\): no fire/).waitFor();
      await page
        .getByTestId('next-fires')
        .getByText(`skipped ${holiday} (1 fire): Founders Day in e2e-holidays`)
        .waitFor();
      // Where it is defined: the file this replica was started with, and the line of its key.
      const line = definitions().split('\n').indexOf('  nightly:') + 1;
      await page
        .getByTestId('trigger-source')
        .getByText(`${join(dir, 'belfry.yaml')}:${line}`)
        .waitFor();
      await audit(page, 'trigger');
      await shot(page, 'trigger');
    });

    it('filters the history by status, and opens an execution with its error and attempts', async () => {
      await until(async () => (await api<unknown[]>('/history?status=failed')).body.length > 0);
      await page.goto(`${base}/ui/history`);
      await page.getByLabel('Status').fill('failed');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/status=failed/);
      await page.getByRole('cell', { name: 'failed' }).first().waitFor();
      // The unfiltered table stays up (it has failed rows too) until the filtered page arrives.
      await until(async () => {
        const shown = await page.locator('tbody td:nth-child(5)').allTextContents();
        return shown.length > 0 && shown.every((status) => status === 'failed');
      }, 10_000).catch(() => undefined);
      const statuses = await page.locator('tbody td:nth-child(5)').allTextContents();
      expect(statuses.length).toBeGreaterThan(0);
      expect(new Set(statuses)).toEqual(new Set(['failed']));
      await audit(page, 'history');
      await shot(page, 'history');
      await page
        .getByRole('link', { name: /^#\d+$/ })
        .first()
        .click();
      await page.waitForURL(/\/ui\/executions\/\d+$/);
      await page.getByText('boom: the report backend said no').first().waitFor();
      await page.getByText('Attempt 1').waitFor();
      await audit(page, 'execution');
      await shot(page, 'execution');
      // Retry the failed attempt by hand, where the server has the operation.
      const { body: document } = await api<{ paths: Record<string, unknown> }>('/openapi.json');
      await page.getByRole('button', { name: 'Retry' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
      await page
        .getByText(
          '/api/v1/executions/{id}/retry' in document.paths
            ? /Retry queued as attempt 2/
            : 'this server does not support that operation',
        )
        .waitFor();
    });

    it('lists triggers, the schedule ahead and the cluster', async () => {
      await page.goto(`${base}/ui/triggers?group=live`);
      await page.getByRole('link', { name: 'tick' }).waitFor();
      expect(await page.getByRole('link', { name: 'nightly' }).count()).toBe(0);
      await audit(page, 'triggers');
      await shot(page, 'triggers');
      await page.goto(`${base}/ui/schedule`);
      await page.getByRole('heading', { name: 'Hotspots' }).waitFor();
      await audit(page, 'schedule');
      await shot(page, 'schedule');
      await page.goto(`${base}/ui/cluster`);
      await page.getByText(/^Leader /).waitFor();
      await page.getByRole('cell', { name: 'e2e-1' }).waitFor();
      await audit(page, 'cluster');
      await shot(page, 'cluster');
      // Keyboard: g then h opens the history.
      await page.keyboard.press('g');
      await page.keyboard.press('h');
      await page.waitForURL(/\/ui\/history$/);
    });

    it('shows each service shard with its holder, checkpoint and health, and pauses and resumes it', async () => {
      // Services: both shards of the test's service held, with a checkpoint, health and recent runs.
      await page.goto(`${base}/ui/services`);
      const feed = page.getByTestId('service-e2e-feed');
      // Health comes from the serving replica's /readyz: shown once it holds one of the two shards.
      await until(async () => {
        if ((await feed.getByText('healthy', { exact: true }).count()) > 0) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        return false;
      });
      await feed.getByText('2 of 2 running').waitFor();
      await feed
        .getByText(/\{"position":\d+\}/)
        .first()
        .waitFor();
      await page.getByTestId('service-history').getByRole('cell', { name: 'running' }).first().waitFor();
      await audit(page, 'services');
      await shot(page, 'services');
      // Pause (with its confirmation) and resume, on every replica.
      await feed.getByRole('button', { name: 'Pause' }).click();
      await feed.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
      await feed.getByText('paused', { exact: true }).waitFor();
      await feed.getByRole('button', { name: 'Resume' }).click();
      await feed.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
      await until(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return (await feed.getByText('2 of 2 running').count()) > 0;
      });
      const { body: serviceAudits } = await api<{ operation: string }[]>('/audit?limit=10');
      expect(serviceAudits.map((a) => a.operation)).toEqual(
        expect.arrayContaining(['pauseService', 'resumeService']),
      );
      // Keyboard: g then v opens the services.
      await page.goto(`${base}/ui/history`);
      await page.getByRole('heading', { name: 'History' }).waitFor();
      await page.keyboard.press('g');
      await page.keyboard.press('v');
      await page.waitForURL(/\/ui\/services$/);
    });

    it('in dark mode too, passes axe', async () => {
      const dark = await browser.newContext({ colorScheme: 'dark', viewport: { width: 1280, height: 860 } });
      const p = await login(dark, READ);
      await p.goto(`${base}/ui/triggers/nightly?month=${holiday.slice(0, 7)}`);
      await p
        .locator(`td[data-date="${holiday}"]`)
        .getByText(/Founders Day/)
        .waitFor();
      await audit(p, 'trigger (dark)');
      await shot(p, 'trigger-dark');
      await p.goto(`${base}/ui/services`);
      await p
        .getByTestId('service-e2e-feed')
        .getByRole('heading', { name: /e2e-feed/ })
        .waitFor();
      await audit(p, 'services (dark)');
      await dark.close();
    });

    it('with the read-only token, shows everything and changes nothing', async () => {
      const reader = await browser.newContext();
      const p = await login(reader, READ);
      await p.goto(`${base}/ui/triggers/tick`);
      await p.getByTestId('trigger-state').getByText('waiting').waitFor();
      expect(await p.getByRole('button', { name: 'Pause' }).isDisabled()).toBe(true);
      expect(await p.getByRole('button', { name: 'Fire now' }).isDisabled()).toBe(true);
      await p.goto(`${base}/ui/services?service=e2e-feed`);
      expect(
        await p.getByTestId('service-e2e-feed').getByRole('button', { name: 'Pause' }).isDisabled(),
      ).toBe(true);
      // Forcing the call from the page is refused by the server.
      const refused = await p.evaluate(async () => {
        const r = await fetch('/api/v1/triggers/tick/pause', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        return { status: r.status, code: ((await r.json()) as { code: string }).code };
      });
      expect(refused).toEqual({ status: 403, code: 'BELFRY_ERR_READ_ONLY_TOKEN' });
      expect((await api<{ state: string }>('/triggers/tick')).body.state).toBe('waiting');
      await reader.close();
    });

    it('changes nothing without the CSRF protections: cross-site pages, forms, or non-JSON bodies', async () => {
      // An attacker's page on another site (localhost is not 127.0.0.1) while the admin is logged in.
      const attackerPort = await freePort();
      const target = `${base}/api/v1/triggers/tick/pause`;
      const attacker: Server = createServer((_request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end(`<!doctype html><html><body>
        <form id="f" method="POST" action="${target}" enctype="text/plain"><input name='{"a":"' value='"}'></form>
        <script>
          fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include',
            headers: { 'content-type': 'text/plain' }, body: '{}' }).finally(() => {
              document.title = 'sent';
              document.getElementById('f').submit();
            });
        </script></body></html>`);
      });
      await new Promise<void>((resolve) => attacker.listen(attackerPort, 'localhost', resolve));
      try {
        const p = await admin.newPage();
        const answers: number[] = [];
        p.on('response', (r) => {
          if (r.url() === target) answers.push(r.status());
        });
        await p.goto(`http://localhost:${attackerPort}/`);
        await until(async () => answers.length >= 1 && p.url() === target);
        // The form's navigation arrives without the cookie (SameSite=Strict) and from another origin.
        expect(answers.every((status) => status === 401 || status === 403)).toBe(true);
        await p.close();
        // Same origin, logged in, but not JSON: refused (415) before any route runs.
        const notJson = await page.evaluate(async (url) => {
          const r = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body: '{}',
          });
          return r.status;
        }, target);
        expect(notJson).toBe(415);
        expect((await api<{ state: string }>('/triggers/tick')).body.state).toBe('waiting');
        const { body: audits } = await api<{ operation: string; status: number }[]>('/audit?limit=20');
        expect(audits.filter((a) => a.operation === 'pauseTrigger' && a.status === 200)).toHaveLength(1);
      } finally {
        attacker.close();
      }
    });
  },
);
