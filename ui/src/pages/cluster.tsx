/** Cluster: instances with check-in age, the leader and its epoch, what each instance runs now. */
import { get, type HistoryRow } from '../api';
import { Empty, Failure, ms, Page, Time, useLoad } from '../components';
import { link } from '../router';

export interface ClusterData {
  leader: {
    holder: string | null;
    holderName: string | null;
    epoch: number;
    valid: boolean;
    expiresAt: string | null;
  };
  instances: {
    id: string;
    name: string;
    host: string;
    pid: number;
    version: string;
    state: string;
    startedAt: string;
    lastCheckinAt: string;
    checkinAgeMs: number;
    isLeader: boolean;
  }[];
}

export function InstancesTable({ data, running }: { data: ClusterData; running?: HistoryRow[] }) {
  if (data.instances.length === 0)
    return (
      <Empty title="No replica is running.">
        Start one with <code>belfry start</code> (or <code>npm start</code> for a local cluster).
      </Empty>
    );
  return (
    <table>
      <caption class="sr-only">Instances</caption>
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">Host / pid</th>
          <th scope="col">State</th>
          <th scope="col">Check-in age</th>
          <th scope="col">Started</th>
          <th scope="col">Role</th>
          {running && <th scope="col">Running now</th>}
        </tr>
      </thead>
      <tbody>
        {data.instances.map((i) => {
          const mine = running?.filter((r) => r.instance === i.name || r.instance === i.id) ?? [];
          return (
            <tr key={i.id}>
              <td title={i.id}>{i.name}</td>
              <td>
                {i.host} / {i.pid}
              </td>
              <td>{i.state}</td>
              <td>{ms(i.checkinAgeMs)}</td>
              <td>
                <Time at={i.startedAt} />
              </td>
              <td>{i.isLeader ? <strong>leader (epoch {data.leader.epoch})</strong> : 'member'}</td>
              {running && (
                <td>
                  {mine.length === 0
                    ? 'idle'
                    : mine.slice(0, 5).map((r) => (
                        <a key={r.executionId} href={link(`/executions/${r.executionId}`)} class="chip">
                          {r.trigger}
                        </a>
                      ))}
                  {mine.length > 5 && <span> +{mine.length - 5} more</span>}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Cluster() {
  const cluster = useLoad((signal) => get<ClusterData>('/cluster?all=true', signal), 'cluster-all');
  const running = useLoad((signal) => get<HistoryRow[]>('/executions/running', signal), 'running');
  return (
    <Page
      title="Cluster"
      actions={
        <button
          type="button"
          onClick={() => {
            cluster.reload();
            running.reload();
          }}
        >
          Refresh
        </button>
      }
    >
      {cluster.error !== undefined && <Failure error={cluster.error} />}
      {cluster.data && (
        <>
          <p>
            {cluster.data.leader.valid ? (
              <>
                Leader <strong>{cluster.data.leader.holderName}</strong>, epoch {cluster.data.leader.epoch},
                lease until <Time at={cluster.data.leader.expiresAt} />.
              </>
            ) : (
              'No replica holds the leader lease right now.'
            )}
          </p>
          <InstancesTable data={cluster.data} running={running.data ?? []} />
        </>
      )}
    </Page>
  );
}
