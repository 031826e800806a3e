/**
 * Services (docs/services.md): every shard of every long-running service with its holder, epoch, uptime,
 * last checkpoint, restarts, health and paused state; pause and resume (admin token, with a
 * confirmation); the recent service_history rows. `?service=name` narrows the page to one service.
 *
 * Health is reported in memory by `ctx.health(...)` on the replica that runs the shard; the page reads it
 * from this replica's /readyz, so it shows for the shards this replica holds ("on <holder>" otherwise).
 */
import { get, post, type Session } from '../api';
import { ConfirmButton, Empty, Failure, ms, Page, Time, useLoad } from '../components';
import { link, navigate } from '../router';

export interface ServiceShard {
  service: string;
  shard: number;
  shards: number;
  paused: boolean;
  holder: string | null;
  holderName: string | null;
  epoch: number;
  held: boolean;
  acquiredAt: string | null;
  expiresAt: string | null;
  uptimeMs: number | null;
  checkpoint: unknown;
  checkpointAt: string | null;
  restarts: number;
}

export interface ServiceHistoryRow {
  id: string;
  service: string;
  shard: number;
  instance: string;
  instanceName: string | null;
  epoch: number;
  startedAt: string;
  endedAt: string | null;
  reason: string;
  error: string | null;
}

interface LocalShard {
  service: string;
  shard: number;
  epoch: number;
  state: string;
  health: { status: string; details?: Record<string, unknown> };
}

/** A checkpoint in one short line (the full JSON on hover). */
export function preview(value: unknown, max = 60): { short: string; full: string } {
  if (value === null || value === undefined) return { short: '—', full: 'no checkpoint yet' };
  const full = JSON.stringify(value);
  return { short: full.length > max ? `${full.slice(0, max - 1)}…` : full, full };
}

async function readyz(signal: AbortSignal): Promise<LocalShard[]> {
  const response = await fetch('/readyz', { credentials: 'same-origin', signal });
  // 503 (not ready) still carries the details.
  const body = (await response.json()) as { services?: LocalShard[] };
  return body.services ?? [];
}

function Health({ shard, local }: { shard: ServiceShard; local: LocalShard[] }) {
  if (!shard.held) return <span class="muted">—</span>;
  const mine = local.find((l) => l.service === shard.service && l.shard === shard.shard);
  if (!mine)
    return (
      <span class="muted" title="reported in the /readyz of the replica that holds the shard">
        on {shard.holderName ?? shard.holder}
      </span>
    );
  const details = mine.health.details ? JSON.stringify(mine.health.details) : '';
  return (
    <span title={details || undefined}>
      <span class={`status health-${mine.health.status}`}>{mine.health.status}</span>
      {mine.state !== 'running' && <span class="muted"> ({mine.state})</span>}
    </span>
  );
}

function ShardsTable({ shards, local }: { shards: ServiceShard[]; local: LocalShard[] }) {
  return (
    <table data-testid="service-shards">
      <caption class="sr-only">Shards</caption>
      <thead>
        <tr>
          <th scope="col">Shard</th>
          <th scope="col">Holder</th>
          <th scope="col">Epoch</th>
          <th scope="col">Uptime</th>
          <th scope="col">Last checkpoint</th>
          <th scope="col">Restarts</th>
          <th scope="col">Health</th>
        </tr>
      </thead>
      <tbody>
        {shards.map((s) => {
          const cp = preview(s.checkpoint);
          return (
            <tr key={s.shard}>
              <td>
                {s.shard} <span class="muted">of {s.shards}</span>
              </td>
              <td title={s.holder ?? undefined}>
                {s.held ? (
                  <>
                    {s.holderName ?? s.holder}
                    <span class="muted">
                      {' '}
                      (lease until <Time at={s.expiresAt} />)
                    </span>
                  </>
                ) : (
                  <span class="muted">{s.paused ? 'none (paused)' : 'none'}</span>
                )}
              </td>
              <td>{s.epoch}</td>
              <td>{s.held ? ms(s.uptimeMs) : '—'}</td>
              <td>
                <code title={cp.full}>{cp.short}</code>
                {s.checkpointAt && (
                  <span class="muted">
                    {' '}
                    at <Time at={s.checkpointAt} />
                  </span>
                )}
              </td>
              <td>{s.restarts}</td>
              <td>
                <Health shard={s} local={local} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function HistoryTable({ rows }: { rows: ServiceHistoryRow[] }) {
  if (rows.length === 0) return <Empty title="No runs recorded yet." />;
  return (
    <table data-testid="service-history">
      <caption class="sr-only">Recent runs</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col">Shard</th>
          <th scope="col">Instance</th>
          <th scope="col">Epoch</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td>
              <a href={link('/services', { service: r.service })}>{r.service}</a>
            </td>
            <td>{r.shard}</td>
            <td title={r.instance}>{r.instanceName ?? r.instance}</td>
            <td>{r.epoch}</td>
            <td>
              <Time at={r.startedAt} />
            </td>
            <td>
              <Time at={r.endedAt} />
            </td>
            <td class={r.error ? 'error-cell' : undefined}>
              {r.reason}
              {r.error && <span class="wrap">: {r.error}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Services({ params, me }: { params: URLSearchParams; me: Session }) {
  const only = params.get('service') ?? '';
  const shards = useLoad((signal) => get<ServiceShard[]>('/services', signal), 'services');
  const local = useLoad(readyz, 'readyz');
  const history = useLoad(
    (signal) =>
      get<ServiceHistoryRow[]>(
        `/services/history?limit=50${only ? `&service=${encodeURIComponent(only)}` : ''}`,
        signal,
      ),
    `service-history:${only}`,
  );
  const reload = () => {
    shards.reload();
    local.reload();
    history.reload();
  };
  const byService = new Map<string, ServiceShard[]>();
  for (const s of shards.data ?? []) {
    if (only && s.service !== only) continue;
    byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  }
  const names = [...new Set((shards.data ?? []).map((s) => s.service))].sort();
  const admin = me.scope === 'admin';
  return (
    <Page
      title="Services"
      actions={
        <button type="button" onClick={reload}>
          Refresh
        </button>
      }
    >
      {shards.error !== undefined && <Failure error={shards.error} />}
      {shards.data && shards.data.length === 0 && (
        <Empty title="No services defined.">
          Long-running services run on exactly one replica per shard and fail over in seconds: see{' '}
          <code>docs/services.md</code> to define one (a <code>services:</code> map in YAML, or{' '}
          <code>scheduler.registerService</code>).
        </Empty>
      )}
      {names.length > 1 && (
        <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <label for="f-service">Service</label>
          <select
            id="f-service"
            value={only}
            onChange={(e) =>
              navigate(link('/services', { service: (e.target as HTMLSelectElement).value }), true)
            }
          >
            <option value="">any</option>
            {names.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </form>
      )}
      {[...byService].map(([name, list]) => {
        const paused = list.some((s) => s.paused);
        const held = list.filter((s) => s.held).length;
        return (
          <section key={name} aria-labelledby={`service-${name}`} data-testid={`service-${name}`}>
            <header class="page-header">
              <h2 id={`service-${name}`}>
                {name}{' '}
                <span class={paused ? 'status status-paused' : 'status status-running'}>
                  {paused ? 'paused' : `${held} of ${list.length} running`}
                </span>
              </h2>
              <div class="actions">
                <ConfirmButton
                  label={paused ? 'Resume' : 'Pause'}
                  question={
                    paused
                      ? `Resume ${name}? Replicas take its shards again within a beat.`
                      : `Pause ${name}? Its holders stop their runs and release; no replica takes it until resumed.`
                  }
                  confirm={paused ? 'Resume' : 'Pause'}
                  disabled={!admin}
                  disabledReason="the read-only token cannot act"
                  action={async () => {
                    await post(`/services/${encodeURIComponent(name)}/${paused ? 'resume' : 'pause'}`);
                    reload();
                    return paused ? 'Resumed.' : 'Paused.';
                  }}
                />
              </div>
            </header>
            <ShardsTable shards={list} local={local.data ?? []} />
          </section>
        );
      })}
      {shards.data && shards.data.length > 0 && (
        <>
          <h2>Recent runs</h2>
          <p class="muted">Starts, stops, crashes, handovers and refused checkpoints, newest first.</p>
          {history.error !== undefined && <Failure error={history.error} />}
          {history.data && <HistoryTable rows={history.data} />}
        </>
      )}
    </Page>
  );
}
