/**
 * History: the filters of `belfry history`, one page at a time by keyset cursor (the server never
 * counts or skips rows, so page 1,000 of 10 million is as fast as page 1). Every filter and the cursor
 * are in the URL.
 */
import { useState } from 'preact/hooks';
import { get, query, type HistoryRow } from '../api';
import { Empty, Failure, Page, useLoad } from '../components';
import { link, navigate } from '../router';
import { ExecutionsTable } from './trigger';

const FIELDS = [
  'job',
  'trigger',
  'group',
  'status',
  'instance',
  'since',
  'until',
  'minDuration',
  'error',
] as const;
type Field = (typeof FIELDS)[number];
const LABELS: Record<Field, string> = {
  job: 'Job',
  trigger: 'Trigger',
  group: 'Group',
  status: 'Status',
  instance: 'Instance',
  since: 'Since',
  until: 'Until',
  minDuration: 'Min duration',
  error: 'Error contains',
};
const HINTS: Partial<Record<Field, string>> = {
  status: 'failed,timed_out',
  since: '24h or an ISO instant',
  until: 'ISO instant',
  minDuration: '5s',
};

export function History({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? ''])) as Record<Field, string>;
  const before = params.get('before') ?? '';
  const [draft, setDraft] = useState(filters);
  const key = `${FIELDS.map((f) => filters[f]).join('|')}|${before}`;
  const page = useLoad(
    (signal) =>
      get<{ rows: HistoryRow[]; next: string | null }>(
        `/history/page${query({ ...filters, before, limit: '50' })}`,
        signal,
      ),
    key,
  );
  const apply = (event: Event) => {
    event.preventDefault();
    navigate(link('/history', draft));
  };
  const filtered = FIELDS.some((f) => filters[f]);
  return (
    <Page title="History">
      <form class="filters" role="search" onSubmit={apply} aria-label="History filters">
        {FIELDS.map((f) => (
          <span class="field" key={f}>
            <label for={`h-${f}`}>{LABELS[f]}</label>
            <input
              id={`h-${f}`}
              name={f}
              data-search={f === 'trigger' ? true : undefined}
              value={draft[f]}
              placeholder={HINTS[f]}
              onInput={(e) => setDraft({ ...draft, [f]: (e.target as HTMLInputElement).value })}
            />
          </span>
        ))}
        <button type="submit" class="primary">
          Filter
        </button>
        {filtered && <a href={link('/history')}>Clear</a>}
      </form>
      {page.error !== undefined && <Failure error={page.error} />}
      {page.data && page.data.rows.length === 0 && (
        <Empty
          title={
            filtered || before ? 'Nothing matches these filters.' : 'No execution has been recorded yet.'
          }
        >
          {filtered
            ? 'Widen the time range or remove a filter.'
            : 'Executions appear here once triggers fire.'}
        </Empty>
      )}
      {page.data && page.data.rows.length > 0 && <ExecutionsTable rows={page.data.rows} showTrigger />}
      <nav class="pager" aria-label="Pages">
        {before && <a href={link('/history', filters)}>Newest</a>}
        {page.data?.next && (
          <a href={link('/history', { ...filters, before: page.data.next })} rel="next">
            Older →
          </a>
        )}
      </nav>
    </Page>
  );
}
