/**
 * A trigger: its schedule in words, the next 10 fires with the calendar's explanation, a month calendar
 * with its fires and the calendar's excluded days, recent executions, and pause / resume / fire now.
 */
import { useCallback, useState } from 'preact/hooks';
import { get, post, query, type HistoryRow, type Session, type TriggerSummary } from '../api';
import { ConfirmButton, Empty, Failure, ms, Page, Status, Time, useLoad } from '../components';
import { useLiveEvents, type LiveEvent } from '../live';
import { link, navigate } from '../router';

interface Explanation {
  calendar: string;
  reason: string;
}
interface ScheduleData {
  words: string;
  timezone: string | null;
  calendar: string | null;
  error: string | null;
  next: {
    at: string;
    local: string;
    movedFrom?: Explanation & { at: string; local: string; rule: string };
    skipped?: (Explanation & { date: string; fires: number; firstFire: string })[];
  }[];
}
interface MonthData {
  month: string;
  timezone: string;
  calendar: string | null;
  days: {
    date: string;
    fires: string[];
    excluded: Explanation | null;
    moved: (Explanation & { to: string })[];
  }[];
}
interface Detail extends TriggerSummary {
  startAt: string | null;
  endAt: string | null;
  misfirePolicy: string;
  recentExecutions: HistoryRow[];
}
interface SourceData {
  position: { file: string; line: number; column: number } | null;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function MonthCalendar({ name, month }: { name: string; month: string }) {
  const data = useLoad(
    (signal) => get<MonthData>(`/triggers/${encodeURIComponent(name)}/month${query({ month })}`, signal),
    `${name}:${month}`,
  );
  const m = data.data;
  const go = (to: string) => navigate(link(`/triggers/${encodeURIComponent(name)}`, { month: to }), true);
  const shown = m?.month ?? month;
  const lead = m ? (new Date(`${m.days[0]!.date}T12:00:00Z`).getUTCDay() + 6) % 7 : 0;
  return (
    <section class="card" aria-labelledby="month-title">
      <header class="page-header">
        <h2 id="month-title">Month {shown}</h2>
        {shown && (
          <div class="actions">
            <button type="button" onClick={() => go(shiftMonth(shown, -1))} aria-label="previous month">
              ←
            </button>
            <button type="button" onClick={() => go(shiftMonth(shown, 1))} aria-label="next month">
              →
            </button>
          </div>
        )}
      </header>
      {data.error !== undefined && <Failure error={data.error} />}
      {m && (
        <>
          <p class="muted">
            Days in {m.timezone}
            {m.calendar ? `; days the calendar ${m.calendar} excludes are marked` : ''}.
          </p>
          <table class="month">
            <caption class="sr-only">Fires in {m.month}</caption>
            <thead>
              <tr>
                {WEEKDAYS.map((d) => (
                  <th scope="col" key={d}>
                    {d}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: Math.ceil((lead + m.days.length) / 7) }, (_, week) => (
                <tr key={week}>
                  {Array.from({ length: 7 }, (_, d) => {
                    const day = m.days[week * 7 + d - lead];
                    if (!day) return <td key={d} />;
                    const note = day.excluded
                      ? `${day.excluded.reason} (${day.excluded.calendar})${day.moved.length ? `: fire moved to ${new Date(day.moved[0]!.to).toLocaleString()}` : ': no fire'}`
                      : undefined;
                    return (
                      <td
                        key={d}
                        class={day.excluded ? 'excluded' : day.fires.length ? 'fires' : ''}
                        data-date={day.date}
                      >
                        <span class="day-number">{Number(day.date.slice(8))}</span>
                        {day.fires.length > 0 && (
                          <span
                            class="day-fires"
                            title={day.fires.map((f) => new Date(f).toLocaleTimeString()).join(', ')}
                          >
                            {day.fires.length === 1
                              ? new Date(day.fires[0]!).toLocaleTimeString([], {
                                  hour: '2-digit',
                                  minute: '2-digit',
                                })
                              : `${day.fires.length} fires`}
                          </span>
                        )}
                        {note && <span class="holiday">{note}</span>}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function TriggerPage({ name, params, me }: { name: string; params: URLSearchParams; me: Session }) {
  const [round, setRound] = useState(0);
  const detail = useLoad(
    (signal) => get<Detail>(`/triggers/${encodeURIComponent(name)}?executions=20`, signal),
    `${name}:${round}`,
  );
  const schedule = useLoad(
    (signal) => get<ScheduleData>(`/triggers/${encodeURIComponent(name)}/schedule`, signal),
    `${name}:s:${round}`,
  );
  const source = useLoad(async (signal) => {
    const response = await fetch(`/ui/api/trigger-source?name=${encodeURIComponent(name)}`, { signal });
    return response.ok ? ((await response.json()) as SourceData) : { position: null };
  }, name);
  const [live, setLive] = useState<LiveEvent[]>([]);
  useLiveEvents(
    useCallback(
      (batch: LiveEvent[]) => {
        const mine = batch.filter((e) => e.trigger === name && e.type === 'finished');
        if (mine.length) setLive((l) => [...mine.reverse(), ...l].slice(0, 20));
      },
      [name],
    ),
  );
  const t = detail.data;
  const month = params.get('month') ?? '';
  const readOnly = me.scope !== 'admin';
  const why = 'the read-only token can look but not act; log in with the admin token';
  const act = (action: 'pause' | 'resume') => async () => {
    const result = await post<{ changed: number }>(`/triggers/${encodeURIComponent(name)}/${action}`);
    setRound((r) => r + 1);
    return `${action === 'pause' ? 'Paused' : 'Resumed'} (${result.changed} changed).`;
  };
  return (
    <Page
      title={`Trigger ${name}`}
      actions={
        t && (
          <>
            {t.state === 'paused' ? (
              <ConfirmButton
                label="Resume"
                question={`Resume ${name}? Missed fires follow its misfire policy (${t.misfirePolicy}).`}
                confirm="Resume"
                disabled={readOnly}
                disabledReason={why}
                action={act('resume')}
              />
            ) : (
              <ConfirmButton
                label="Pause"
                question={`Pause ${name}? It fires nothing until resumed.`}
                confirm="Pause"
                disabled={readOnly || t.state === 'complete'}
                disabledReason={why}
                action={act('pause')}
              />
            )}
            <ConfirmButton
              label="Fire now"
              question={`Run job ${t.job} once, now, on any replica? Its schedule is not changed.`}
              confirm="Fire now"
              disabled={readOnly}
              disabledReason={why}
              action={async () => {
                const result = await post<{ trigger: string }>(`/jobs/${encodeURIComponent(t.job)}/fire`, {});
                setTimeout(() => setRound((r) => r + 1), 1500);
                return `Fired as ${result.trigger}.`;
              }}
            />
          </>
        )
      }
    >
      {detail.error !== undefined && <Failure error={detail.error} />}
      {t && (
        <dl class="facts">
          <div>
            <dt>Schedule</dt>
            <dd data-testid="schedule-words">{schedule.data?.words ?? '…'}</dd>
          </div>
          <div>
            <dt>State</dt>
            <dd data-testid="trigger-state">
              {t.state}
              {t.pausedReason ? ` (${t.pausedReason})` : ''}
            </dd>
          </div>
          <div>
            <dt>Job / group</dt>
            <dd>
              <a href={link('/history', { job: t.job })}>{t.job}</a> /{' '}
              <a href={link('/triggers', { group: t.group })}>{t.group}</a>
            </dd>
          </div>
          <div>
            <dt>Next fire</dt>
            <dd>
              <Time at={t.nextFireAt} />
            </dd>
          </div>
          <div>
            <dt>Defined in</dt>
            <dd>
              {source.data?.position ? (
                <code data-testid="trigger-source">
                  {source.data.position.file}:{source.data.position.line}
                </code>
              ) : (
                t.source
              )}
              {t.source === 'yaml' && (
                <span class="muted"> (read-only here: change the YAML and apply it)</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Fired</dt>
            <dd>{t.timesFired} time(s)</dd>
          </div>
        </dl>
      )}
      <div class="grid">
        <section class="card" aria-labelledby="next-title">
          <h2 id="next-title">Next fires</h2>
          {schedule.error !== undefined && <Failure error={schedule.error} />}
          {schedule.data?.error && <div class="failure">{schedule.data.error}</div>}
          {schedule.data && schedule.data.next.length === 0 && (
            <Empty title="No fire is left in this schedule." />
          )}
          <ol class="fires" data-testid="next-fires">
            {schedule.data?.next.map((f) => (
              <li key={f.at}>
                <Time at={f.at} />
                {f.movedFrom && (
                  <p class="explain">
                    moved from <Time at={f.movedFrom.at} /> ({f.movedFrom.rule}): {f.movedFrom.reason} in{' '}
                    {f.movedFrom.calendar}
                  </p>
                )}
                {f.skipped?.map((s) => (
                  <p class="explain" key={s.date}>
                    skipped {s.date} ({s.fires} fire{s.fires > 1 ? 's' : ''}): {s.reason} in {s.calendar}
                  </p>
                ))}
              </li>
            ))}
          </ol>
        </section>
        <MonthCalendar name={name} month={month} />
      </div>
      <section aria-labelledby="recent-title">
        <h2 id="recent-title">Recent executions</h2>
        {t && t.recentExecutions.length === 0 && live.length === 0 && (
          <Empty title="This trigger has not fired yet.">Its executions will be listed here.</Empty>
        )}
        {t && (t.recentExecutions.length > 0 || live.length > 0) && (
          <ExecutionsTable
            rows={[
              ...live
                .filter((e) => !t.recentExecutions.some((r) => r.executionId === e.executionId))
                .map(
                  (e) =>
                    ({
                      executionId: e.executionId!,
                      scheduledAt: e.scheduledAt!,
                      status: e.status!,
                      durationMs: e.durationMs ?? null,
                      instance: null,
                      attempt: 1,
                      error: e.error ?? null,
                      trigger: name,
                    }) as unknown as HistoryRow,
                ),
              ...t.recentExecutions,
            ]}
          />
        )}
        <p>
          <a href={link('/history', { trigger: name })}>All of its history</a>
        </p>
      </section>
    </Page>
  );
}

export function ExecutionsTable({ rows, showTrigger }: { rows: HistoryRow[]; showTrigger?: boolean }) {
  return (
    <table>
      <caption class="sr-only">Executions</caption>
      <thead>
        <tr>
          <th scope="col">Execution</th>
          {showTrigger && <th scope="col">Trigger</th>}
          {showTrigger && <th scope="col">Job</th>}
          <th scope="col">Scheduled</th>
          <th scope="col">Status</th>
          <th scope="col">Attempt</th>
          <th scope="col">Lag</th>
          <th scope="col">Duration</th>
          <th scope="col">Instance</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.executionId}>
            <td>
              <a href={link(`/executions/${r.executionId}`)}>#{r.executionId}</a>
            </td>
            {showTrigger && (
              <td>
                <a href={link(`/triggers/${encodeURIComponent(r.trigger)}`)}>{r.trigger}</a>
              </td>
            )}
            {showTrigger && <td>{r.job}</td>}
            <td>
              <Time at={r.scheduledAt} />
            </td>
            <td>
              <Status status={r.status} />
            </td>
            <td>{r.attempt}</td>
            <td>{ms(r.lagMs)}</td>
            <td>{ms(r.durationMs)}</td>
            <td>{r.instance ?? '—'}</td>
            <td class="error-cell">{r.error ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
