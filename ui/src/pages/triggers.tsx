/** Triggers: search by name, filter by group, job and state; every filter is in the URL. */
import { get, type TriggerSummary } from '../api';
import { Empty, Failure, Page, Time, useLoad } from '../components';
import { link, navigate } from '../router';

export function Triggers({ params }: { params: URLSearchParams }) {
  const filters = {
    q: params.get('q') ?? '',
    group: params.get('group') ?? '',
    job: params.get('job') ?? '',
    state: params.get('state') ?? '',
  };
  const all = useLoad(
    (signal) => get<TriggerSummary[]>('/triggers?includeComplete=true', signal),
    'triggers',
  );
  const set = (key: keyof typeof filters, value: string) =>
    navigate(link('/triggers', { ...filters, [key]: value }), true);
  const list = (all.data ?? []).filter(
    (t) =>
      (!filters.q || t.name.toLowerCase().includes(filters.q.toLowerCase())) &&
      (!filters.group || t.group === filters.group) &&
      (!filters.job || t.job === filters.job) &&
      (filters.state ? t.state === filters.state : t.state !== 'complete'),
  );
  const groups = [...new Set((all.data ?? []).map((t) => t.group))].sort();
  const jobs = [...new Set((all.data ?? []).map((t) => t.job))].sort();
  return (
    <Page title="Triggers">
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label for="q">Search</label>
        <input
          id="q"
          data-search
          type="search"
          value={filters.q}
          placeholder="trigger name"
          onInput={(e) => set('q', (e.target as HTMLInputElement).value)}
        />
        <label for="f-group">Group</label>
        <select
          id="f-group"
          value={filters.group}
          onChange={(e) => set('group', (e.target as HTMLSelectElement).value)}
        >
          <option value="">any</option>
          {groups.map((g) => (
            <option key={g}>{g}</option>
          ))}
        </select>
        <label for="f-job">Job</label>
        <select
          id="f-job"
          value={filters.job}
          onChange={(e) => set('job', (e.target as HTMLSelectElement).value)}
        >
          <option value="">any</option>
          {jobs.map((j) => (
            <option key={j}>{j}</option>
          ))}
        </select>
        <label for="f-state">State</label>
        <select
          id="f-state"
          value={filters.state}
          onChange={(e) => set('state', (e.target as HTMLSelectElement).value)}
        >
          <option value="">waiting or paused</option>
          <option value="waiting">waiting</option>
          <option value="paused">paused</option>
          <option value="complete">complete</option>
        </select>
      </form>
      {all.error !== undefined && <Failure error={all.error} />}
      {all.data && list.length === 0 && (
        <Empty title={all.data.length === 0 ? 'No triggers yet.' : 'No trigger matches these filters.'}>
          {all.data.length === 0 ? (
            <>
              Define them in YAML and run <code>belfry apply</code> (or start a replica with{' '}
              <code>--config</code>).
            </>
          ) : (
            <a href={link('/triggers')}>Clear the filters</a>
          )}
        </Empty>
      )}
      {list.length > 0 && (
        <table>
          <caption class="sr-only">Triggers</caption>
          <thead>
            <tr>
              <th scope="col">Trigger</th>
              <th scope="col">Group</th>
              <th scope="col">Job</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Next fire</th>
              <th scope="col">Fired</th>
            </tr>
          </thead>
          <tbody>
            {list.slice(0, 1000).map((t) => (
              <tr key={t.name}>
                <td>
                  <a href={link(`/triggers/${encodeURIComponent(t.name)}`)}>{t.name}</a>
                </td>
                <td>{t.group}</td>
                <td>{t.job}</td>
                <td>{t.kind}</td>
                <td>{t.state}</td>
                <td>
                  <Time at={t.nextFireAt} />
                </td>
                <td>{t.timesFired}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.length > 1000 && <p class="muted">Showing 1,000 of {list.length}; narrow the search.</p>}
    </Page>
  );
}
