/** Overview: instances and the leader, the last hour's rate, lag and failures, what is stuck, live fires. */
import { useCallback, useState } from 'preact/hooks';
import { get, type HistoryRow } from '../api';
import { Empty, Failure, ms, Page, Status, Time, useLoad } from '../components';
import { recent, useLiveEvents, type LiveEvent } from '../live';
import { link } from '../router';
import { InstancesTable, type ClusterData } from './cluster';

interface OverviewData {
  at: string;
  lastHour: {
    fires: number;
    attempts: number;
    failed: number;
    failureRate: number | null;
    lagP50Ms: number | null;
    lagP99Ms: number | null;
    perMinute: number[];
  };
  lastDay: { failed: number; misfired: number; succeeded: number };
  stuck: (HistoryRow & { reason: string })[];
  leader: { holder: string | null; holderName: string | null; epoch: number };
  instances: number;
}

function Sparkline({ values, label }: { values: number[]; label: string }) {
  const max = Math.max(1, ...values);
  const width = values.length * 4;
  return (
    <svg class="spark" viewBox={`0 0 ${width} 40`} preserveAspectRatio="none" role="img" aria-label={label}>
      {values.map((v, i) => (
        <rect key={i} x={i * 4} y={40 - (v / max) * 40} width={3} height={(v / max) * 40} />
      ))}
    </svg>
  );
}

function LiveFeed() {
  const [events, setEvents] = useState<LiveEvent[]>(() => recent.slice(0, 30));
  const [count, setCount] = useState(0);
  useLiveEvents(
    useCallback((batch: LiveEvent[]) => {
      setEvents(recent.slice(0, 30));
      setCount((c) => c + batch.filter((e) => e.type === 'fired').length);
    }, []),
  );
  return (
    <section class="card" aria-labelledby="live-title">
      <h2 id="live-title">Live on this replica</h2>
      <p class="muted">
        <span data-testid="live-fires">{count}</span> fires since this page opened.
      </p>
      {events.length === 0 ? (
        <Empty title="Nothing has happened on this replica since the page opened.">
          Fires appear here as they happen; the history holds every replica's.
        </Empty>
      ) : (
        <ol class="feed" aria-live="polite">
          {events.map((e, i) => (
            <li key={`${e.receivedAt}-${i}`}>
              <span class="feed-type">{e.type}</span>{' '}
              {e.trigger && <a href={link(`/triggers/${encodeURIComponent(e.trigger)}`)}>{e.trigger}</a>}
              {e.status && <Status status={e.status} />}
              {e.executionId && e.type === 'finished' && (
                <a href={link(`/executions/${e.executionId}`)}> #{e.executionId}</a>
              )}
              {e.type === 'leader' && (
                <span>
                  {' '}
                  {e.instanceId} leads, epoch {e.epoch}
                </span>
              )}
              {e.name && <span> {e.name}</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function Overview() {
  const overview = useLoad((signal) => get<OverviewData>('/overview', signal), 'overview');
  const cluster = useLoad((signal) => get<ClusterData>('/cluster', signal), 'cluster');
  const o = overview.data;
  return (
    <Page
      title="Overview"
      actions={
        <>
          {o && (
            <span class="muted">
              as of <Time at={o.at} />
            </span>
          )}
          <button
            type="button"
            onClick={() => {
              overview.reload();
              cluster.reload();
            }}
          >
            Refresh
          </button>
        </>
      }
    >
      {overview.error !== undefined && <Failure error={overview.error} />}
      {o && (
        <div class="grid">
          <section class="card" aria-labelledby="hour-title">
            <h2 id="hour-title">Last hour</h2>
            <dl class="figures">
              <div>
                <dt>Fires</dt>
                <dd>{o.lastHour.fires}</dd>
              </div>
              <div>
                <dt>Lag p50 / p99</dt>
                <dd>
                  {ms(o.lastHour.lagP50Ms)} / {ms(o.lastHour.lagP99Ms)}
                </dd>
              </div>
              <div>
                <dt>Failure rate</dt>
                <dd>
                  {o.lastHour.failureRate === null ? '—' : `${(o.lastHour.failureRate * 100).toFixed(1)} %`}
                </dd>
              </div>
            </dl>
            <Sparkline values={o.lastHour.perMinute} label="fires per minute over the last hour" />
          </section>
          <section class="card" aria-labelledby="day-title">
            <h2 id="day-title">Last 24 hours</h2>
            <dl class="figures">
              <div>
                <dt>Failures</dt>
                <dd>
                  <a href={link('/history', { status: 'failed,timed_out,abandoned', since: '24h' })}>
                    {o.lastDay.failed}
                  </a>
                </dd>
              </div>
              <div>
                <dt>Misfires</dt>
                <dd>
                  <a href={link('/history', { status: 'misfired', since: '24h' })}>{o.lastDay.misfired}</a>
                </dd>
              </div>
              <div>
                <dt>Succeeded</dt>
                <dd>{o.lastDay.succeeded}</dd>
              </div>
            </dl>
            <p class="muted">
              Leader: {o.leader.holderName ?? 'none'} (epoch {o.leader.epoch}); {o.instances} active
              instance(s).
            </p>
          </section>
          <LiveFeed />
        </div>
      )}
      <section aria-labelledby="instances-title">
        <h2 id="instances-title">Instances</h2>
        {cluster.error !== undefined && <Failure error={cluster.error} />}
        {cluster.data && <InstancesTable data={cluster.data} />}
      </section>
      {o && (
        <section aria-labelledby="stuck-title">
          <h2 id="stuck-title">Stuck</h2>
          {o.stuck.length === 0 ? (
            <Empty title="Nothing is stuck.">
              Work pending for over a minute, or running for over an hour or on a replica that is gone, would
              show here.
            </Empty>
          ) : (
            <table>
              <caption class="sr-only">Stuck executions</caption>
              <thead>
                <tr>
                  <th scope="col">Execution</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Scheduled</th>
                  <th scope="col">Status</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {o.stuck.map((row) => (
                  <tr key={row.executionId}>
                    <td>
                      <a href={link(`/executions/${row.executionId}`)}>#{row.executionId}</a>
                    </td>
                    <td>{row.trigger}</td>
                    <td>
                      <Time at={row.scheduledAt} />
                    </td>
                    <td>
                      <Status status={row.status} />
                    </td>
                    <td>{row.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </Page>
  );
}
