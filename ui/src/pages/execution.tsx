/** An execution: every attempt of its fire on a timeline, the error, the trace link, the instance. */
import { useState } from 'preact/hooks';
import { ApiError, get, post, type HistoryRow, type Session } from '../api';
import { ConfirmButton, Empty, Failure, ms, Page, Status, Time, useLoad } from '../components';
import { link } from '../router';

function traceLink(template: string | null, traceId: string): string | null {
  return template ? template.replaceAll('{traceId}', encodeURIComponent(traceId)) : null;
}

function Timeline({ attempts }: { attempts: HistoryRow[] }) {
  const points = attempts.flatMap((a) =>
    [a.scheduledAt, a.firedAt, a.startedAt, a.finishedAt].filter((t): t is string => !!t).map(Date.parse),
  );
  const start = Math.min(...points);
  const span = Math.max(1, Math.max(...points) - start);
  const x = (at: string) => `${(((Date.parse(at) - start) / span) * 100).toFixed(2)}%`;
  return (
    <ol class="attempts">
      {attempts.map((a) => (
        <li key={a.executionId}>
          <p>
            <a href={link(`/executions/${a.executionId}`)}>Attempt {a.attempt}</a>{' '}
            <Status status={a.status} /> on {a.instance ?? 'no instance'}
          </p>
          <div class="bar" role="img" aria-label={`attempt ${a.attempt}: fired, started and finished times`}>
            <span class="mark fired" style={{ left: x(a.firedAt) }} title="fired" />
            {a.startedAt && (
              <span
                class="run"
                style={{
                  left: x(a.startedAt),
                  width: a.finishedAt ? `calc(${x(a.finishedAt)} - ${x(a.startedAt)})` : '2px',
                }}
              />
            )}
          </div>
          <dl class="facts small">
            <div>
              <dt>Scheduled</dt>
              <dd>
                <Time at={a.scheduledAt} />
              </dd>
            </div>
            <div>
              <dt>Fired</dt>
              <dd>
                <Time at={a.firedAt} />
              </dd>
            </div>
            <div>
              <dt>Started</dt>
              <dd>
                <Time at={a.startedAt} />
              </dd>
            </div>
            <div>
              <dt>Finished</dt>
              <dd>
                <Time at={a.finishedAt} /> ({ms(a.durationMs)})
              </dd>
            </div>
          </dl>
        </li>
      ))}
    </ol>
  );
}

const RETRYABLE = ['failed', 'timed_out', 'abandoned'];
const CANCELLABLE = ['pending', 'running'];

/** Retry and cancel go to the API's operations; a server without them says so (404 on the route). */
async function operate(path: string, done: (result: Record<string, unknown>) => string): Promise<string> {
  try {
    return done(await post<Record<string, unknown>>(path));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && /no route/.test(error.message))
      throw new Error('this server does not support that operation');
    throw error;
  }
}

export function ExecutionPage({ id, me }: { id: string; me: Session }) {
  const [round, setRound] = useState(0);
  const data = useLoad(
    (signal) => get<{ execution: HistoryRow; attempts: HistoryRow[] }>(`/executions/${id}`, signal),
    `${id}:${round}`,
  );
  const e = data.data?.execution;
  const latest = data.data?.attempts.at(-1);
  const trace = e?.traceId ? traceLink(me.traceUrlTemplate, e.traceId) : null;
  const readOnly = me.scope !== 'admin';
  const why = 'the read-only token can look but not act; log in with the admin token';
  const actions = e && (
    <>
      {RETRYABLE.includes(e.status) && latest?.executionId === e.executionId && (
        <ConfirmButton
          label="Retry"
          question={`Run job ${e.job} again for this fire (attempt ${e.attempt + 1}, same idempotency key)?`}
          confirm="Retry"
          disabled={readOnly}
          disabledReason={why}
          action={() =>
            operate(`/executions/${id}/retry`, (r) => {
              setTimeout(() => setRound((n) => n + 1), 1000);
              return `Retry queued as attempt ${String(r.attempt)} (#${String(r.executionId)}).`;
            })
          }
        />
      )}
      {CANCELLABLE.includes(e.status) && (
        <ConfirmButton
          label="Cancel"
          question={`Cancel this ${e.status} execution? A running job has its signal aborted.`}
          confirm="Cancel execution"
          disabled={readOnly}
          disabledReason={why}
          action={() =>
            operate(`/executions/${id}/cancel`, () => {
              setRound((n) => n + 1);
              return 'Cancelled.';
            })
          }
        />
      )}
    </>
  );
  return (
    <Page title={`Execution #${id}`} actions={actions}>
      {data.error !== undefined && <Failure error={data.error} />}
      {e && (
        <>
          <dl class="facts">
            <div>
              <dt>Trigger</dt>
              <dd>
                <a href={link(`/triggers/${encodeURIComponent(e.trigger)}`)}>{e.trigger}</a> ({e.triggerGroup}
                )
              </dd>
            </div>
            <div>
              <dt>Job</dt>
              <dd>{e.job}</dd>
            </div>
            <div>
              <dt>Status</dt>
              <dd data-testid="execution-status">
                <Status status={e.status} />
              </dd>
            </div>
            <div>
              <dt>Lag</dt>
              <dd>{ms(e.lagMs)}</dd>
            </div>
            <div>
              <dt>Trace</dt>
              <dd>
                {e.traceId ? (
                  trace ? (
                    <a href={trace} target="_blank" rel="noopener noreferrer">
                      {e.traceId}
                    </a>
                  ) : (
                    <span title="set BELFRY_TRACE_URL to link it">{e.traceId}</span>
                  )
                ) : (
                  <span class="muted">none (tracing off)</span>
                )}
              </dd>
            </div>
          </dl>
          <section aria-labelledby="error-title">
            <h2 id="error-title">Error</h2>
            {e.error ? <pre class="error">{e.error}</pre> : <p class="muted">None.</p>}
          </section>
          <section aria-labelledby="attempts-title">
            <h2 id="attempts-title">Attempts of this fire</h2>
            {data.data!.attempts.length === 0 ? (
              <Empty title="No attempts." />
            ) : (
              <Timeline attempts={data.data!.attempts} />
            )}
            <p class="muted">
              Retries follow the job's retry policy; a failed last attempt can be retried by hand above.
            </p>
          </section>
        </>
      )}
    </Page>
  );
}
