/**
 * The dashboard's calls to the admin API. The session cookie travels by itself (same origin); changes
 * are sent as JSON, as the API's CSRF checks require. A 401 means "log in"; other failures carry the
 * API's problem detail.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

async function parse<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T;
  let detail = `${response.status} ${response.statusText}`;
  let code: string | undefined;
  try {
    const problem = (await response.json()) as { detail?: string; code?: string };
    detail = problem.detail ?? detail;
    code = problem.code;
  } catch {
    // not a problem document
  }
  throw new ApiError(response.status, detail, code);
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  return parse<T>(await fetch(`/api/v1${path}`, { credentials: 'same-origin', signal }));
}

export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return parse<T>(
    await fetch(`/api/v1${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

export interface Session {
  name: string;
  scope: 'read' | 'admin';
  authenticated: boolean;
  instanceId: string | null;
  traceUrlTemplate: string | null;
  version: string | null;
}

export async function session(token?: string): Promise<Session> {
  const response = await fetch('/ui/session', {
    credentials: 'same-origin',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return parse<Session>(response);
}

export interface HistoryRow {
  executionId: string;
  job: string;
  trigger: string;
  triggerGroup: string;
  scheduledAt: string;
  firedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  lagMs: number | null;
  durationMs: number | null;
  instance: string | null;
  attempt: number;
  status: string;
  error: string | null;
  traceId: string | null;
}

export interface TriggerSummary {
  name: string;
  job: string;
  group: string;
  kind: string;
  nextFireAt: string | null;
  previousFireAt: string | null;
  paused: boolean;
  state: 'waiting' | 'paused' | 'complete';
  pausedReason: string | null;
  priority: number;
  timesFired: number;
  calendar: string | null;
  source: string;
}

export const query = (params: Record<string, string | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string] => !!e[1]);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
};
