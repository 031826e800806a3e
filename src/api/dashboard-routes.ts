/**
 * The web dashboard, served by every replica's admin server:
 *
 * - `/` redirects to `/ui/`; `/ui/...` is the single-page app built from `ui/` into `ui/dist/` (vite).
 *   Its shell is public (dashboard-session.ts says why that is safe); any path under `/ui/` that is not
 *   a file answers the app's page, so every page and filter is a deep link.
 * - `/ui/session`: log in (a bearer token, once) and ask who you are; `/ui/logout` forgets the cookie.
 * - `/ui/events`: server-sent events from the replica's event bus (dashboard-events.ts), no queries.
 * - `/ui/api/trigger-source?name=`: the YAML file and line a trigger comes from (definition-sources.ts).
 *
 * Everything the pages show comes from `/api/v1`, behind the same guard as any API client.
 *
 * Files are read once at registration, with their gzip forms. Hashed assets (`/ui/assets/…`) are cached
 * for a year (`immutable`); the page itself is revalidated every time (ETag), so a new version is
 * picked up on the next load. A Content-Security-Policy allows nothing but this server.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from './admin-guard.js';
import { bearerToken } from './access-tokens.js';
import { DashboardEventHub, type EventFeed } from './dashboard-events.js';
import { DASHBOARD_DATA_PREFIX, DASHBOARD_PREFIX, sessionCookie } from './dashboard-session.js';
import { DefinitionSources } from './definition-sources.js';

/** Where `vite build` puts the app: `ui/dist/` at the package root (two levels above src/api and dist/api). */
export const DEFAULT_UI_ROOT = fileURLToPath(new URL('../../ui/dist/', import.meta.url));

export interface DashboardOptions {
  /** The replica's event bus; without one, the live stream stays quiet. */
  feed?: EventFeed;
  instanceId?: () => string | undefined;
  /** Where the built app lives; default ui/dist of this package. */
  root?: string;
  /** A link to the user's tracing UI, with `{traceId}` where the id goes (Jaeger, Tempo). */
  traceUrlTemplate?: string;
  /** The YAML files this replica was started with: the trigger page says where a trigger is defined. */
  definitionFiles?: readonly string[];
  version?: string;
}

interface StaticFile {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Reads the built app into memory: path under /ui/ → file. Empty when the app was not built. */
export function loadDashboardFiles(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(join(root, 'index.html'))) return files;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        const compressible = /text|javascript|json|svg/.test(type) && body.length > 1024;
        const key = relative(root, path).split(sep).join('/');
        files.set(key, {
          body,
          gzip: compressible ? gzipSync(body, { level: 9 }) : null,
          type,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          immutable: key.startsWith('assets/'),
        });
      }
    }
  };
  walk(root);
  return files;
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: StaticFile) {
  reply.headers(SECURITY_HEADERS);
  reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('etag', file.etag);
  reply.header('vary', 'accept-encoding');
  reply.type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const gzip = file.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply.send(gzip ? file.gzip : file.body);
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Belfry</title></head>
<body><main><h1>The dashboard is not built</h1><p>Run <code>npm run build:ui</code> in the Belfry package
(<code>npm ci</code> does it), then reload.</p></main></body></html>`;

export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const files = loadDashboardFiles(options.root ?? DEFAULT_UI_ROOT);
  const hub = new DashboardEventHub({
    feed: options.feed ?? { on: () => () => {} },
    instanceId: options.instanceId,
  });
  // Open streams would hold the server's close: end them first.
  app.addHook('preClose', async () => hub.close());

  app.get('/', async (_request, reply) => reply.redirect(`${DASHBOARD_PREFIX}/`, 302));

  app.get('/ui/session', async (request, reply) => {
    const principal = principalOf(request);
    const login = bearerToken(request.headers.authorization);
    if (login && principal.authenticated)
      reply.header('set-cookie', sessionCookie(login, request.protocol === 'https'));
    reply.header('cache-control', 'no-store');
    return {
      name: principal.name,
      scope: principal.scope,
      authenticated: principal.authenticated,
      instanceId: options.instanceId?.() ?? null,
      traceUrlTemplate: options.traceUrlTemplate ?? null,
      version: options.version ?? null,
    };
  });

  app.get('/ui/logout', async (request, reply) => {
    reply.header('set-cookie', sessionCookie(null, request.protocol === 'https'));
    return reply.redirect(`${DASHBOARD_PREFIX}/`, 303);
  });

  const sources = new DefinitionSources(options.definitionFiles ?? []);
  app.get(`${DASHBOARD_DATA_PREFIX}trigger-source`, async (request, reply) => {
    const name = (request.query as { name?: unknown }).name;
    if (typeof name !== 'string' || name === '' || name.length > 300)
      return reply.code(400).send({ detail: 'name: a trigger name is required' });
    reply.header('cache-control', 'no-store');
    return { trigger: name, position: await sources.triggerPosition(name) };
  });

  app.get('/ui/events', (_request, reply) => {
    reply.hijack();
    hub.attach(reply.raw);
  });

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0]!.slice(DASHBOARD_PREFIX.length).replace(/^\/+/, '');
    if (files.size === 0) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    const file = files.get(path);
    if (file) return sendFile(request, reply, file);
    // A missing asset is a 404; any other path is a page of the app (a deep link).
    if (path.startsWith('assets/')) return reply.code(404).type('text/plain').send('not found');
    return sendFile(request, reply, files.get('index.html')!);
  };
  app.get('/ui', async (_request, reply) => reply.redirect(`${DASHBOARD_PREFIX}/`, 302));
  app.get('/ui/*', page);
}
