/**
 * The schedule ahead: the next 24 hours of fires as a per-minute strip (one column per minute, one lane
 * per group), the busiest minutes, and the next fires in order. The server sends counts, not fires, so
 * 10,000 triggers cost the browser the same as ten.
 */
import { get, query } from '../api';
import { Empty, Failure, Page, Time, useLoad } from '../components';
import { link, navigate } from '../router';

interface Ahead {
  from: string;
  until: string;
  groups: string[];
  perMinute: number[];
  byGroup: Record<string, number[]>;
  hotspots: { at: string; fires: number; triggers: string[] }[];
  upcoming: { at: string; trigger: string; group: string; job: string }[];
  triggers: number;
  fires: number;
  paused: number;
  capped: string[];
  unplannable: { trigger: string; error: string }[];
}

/** 1,440 minutes in 288 five-minute columns; the cell's shade is its busiest minute. */
function Strip({ values, label, from }: { values: number[]; label: string; from: string }) {
  const columns = 288;
  const per = values.length / columns;
  const cells = Array.from({ length: columns }, (_, c) => Math.max(...values.slice(c * per, (c + 1) * per)));
  const max = Math.max(1, ...cells);
  const start = Date.parse(from);
  return (
    <svg class="strip" viewBox={`0 0 ${columns} 10`} preserveAspectRatio="none" role="img" aria-label={label}>
      {cells.map((v, c) =>
        v === 0 ? null : (
          <rect key={c} x={c} y={0} width={1} height={10} style={{ opacity: 0.15 + 0.85 * (v / max) }}>
            <title>{`${new Date(start + c * 5 * 60_000).toLocaleTimeString()}: up to ${v} fire(s) in a minute`}</title>
          </rect>
        ),
      )}
    </svg>
  );
}

function HourTicks({ from }: { from: string }) {
  const start = Date.parse(from);
  return (
    <div class="ticks" aria-hidden="true">
      {Array.from({ length: 8 }, (_, i) => (
        <span key={i}>
          {new Date(start + i * 3 * 3_600_000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
        </span>
      ))}
    </div>
  );
}

export function ScheduleAhead({ params }: { params: URLSearchParams }) {
  const group = params.get('group') ?? '';
  const ahead = useLoad(
    (signal) => get<Ahead>(`/schedule/ahead${query({ group })}`, signal),
    `ahead:${group}`,
  );
  const a = ahead.data;
  return (
    <Page title="Schedule ahead">
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="group-filter">Group</label>
        <select
          id="group-filter"
          value={group}
          onChange={(e) => navigate(link('/schedule', { group: (e.target as HTMLSelectElement).value }))}
        >
          <option value="">all groups</option>
          {(a?.groups ?? (group ? [group] : [])).map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
        </select>
      </form>
      {ahead.error !== undefined && <Failure error={ahead.error} />}
      {a && a.triggers === 0 && (
        <Empty title="No triggers.">
          Define triggers in YAML and run <code>belfry apply</code>, or register them in code.
        </Empty>
      )}
      {a && a.triggers > 0 && (
        <>
          <p>
            {a.fires} fire(s) from {a.triggers} trigger(s) between <Time at={a.from} /> and{' '}
            <Time at={a.until} />
            {a.paused > 0 && <>; {a.paused} paused trigger(s) are left out</>}.
          </p>
          <div class="timeline">
            <div class="lane">
              <span class="lane-label">all</span>
              <Strip values={a.perMinute} label="fires per minute, next 24 hours, all groups" from={a.from} />
            </div>
            {Object.entries(a.byGroup)
              .sort()
              .map(([g, values]) => (
                <div class="lane" key={g}>
                  <a class="lane-label" href={link('/schedule', { group: g })}>
                    {g}
                  </a>
                  <Strip
                    values={values}
                    label={`fires per minute, next 24 hours, group ${g}`}
                    from={a.from}
                  />
                </div>
              ))}
            <HourTicks from={a.from} />
          </div>
          <div class="grid">
            <section class="card" aria-labelledby="hot-title">
              <h2 id="hot-title">Hotspots</h2>
              {a.hotspots.length === 0 ? (
                <Empty title="No two fires share a minute." />
              ) : (
                <table>
                  <caption class="sr-only">Busiest minutes</caption>
                  <thead>
                    <tr>
                      <th scope="col">Minute</th>
                      <th scope="col">Fires</th>
                      <th scope="col">Triggers</th>
                    </tr>
                  </thead>
                  <tbody>
                    {a.hotspots.map((h) => (
                      <tr key={h.at}>
                        <td>
                          <Time at={h.at} />
                        </td>
                        <td>{h.fires}</td>
                        <td class="wrap">
                          {h.triggers.slice(0, 5).join(', ')}
                          {h.triggers.length > 5 || h.fires > h.triggers.length ? ', …' : ''}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            <section class="card" aria-labelledby="next-title">
              <h2 id="next-title">Next fires</h2>
              <ol class="feed">
                {a.upcoming.slice(0, 50).map((u) => (
                  <li key={`${u.at}-${u.trigger}`}>
                    <Time at={u.at} />{' '}
                    <a href={link(`/triggers/${encodeURIComponent(u.trigger)}`)}>{u.trigger}</a>{' '}
                    <span class="muted">{u.group}</span>
                  </li>
                ))}
              </ol>
            </section>
          </div>
          {a.unplannable.length > 0 && (
            <section aria-labelledby="unplannable-title">
              <h2 id="unplannable-title">Schedules that cannot be computed</h2>
              <ul>
                {a.unplannable.map((u) => (
                  <li key={u.trigger}>
                    {u.trigger}: {u.error}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </>
      )}
    </Page>
  );
}
