/**
 * The dashboard: a login form until the browser has a session, then the pages. Keyboard: `g` then
 * o/s/t/h/c/v opens a page, `/` focuses the page's search, `?` lists the keys.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, session, type Session } from './api';
import { Failure } from './components';
import { startLive, stopLive, useLiveStatus } from './live';
import { installLinkHandler, link, navigate, useLocation } from './router';
import { Overview } from './pages/overview';
import { ScheduleAhead } from './pages/schedule';
import { Triggers } from './pages/triggers';
import { TriggerPage } from './pages/trigger';
import { History } from './pages/history';
import { ExecutionPage } from './pages/execution';
import { Cluster } from './pages/cluster';
import { Services } from './pages/services';
import './style.css';

const NAV: { path: string; label: string; key: string }[] = [
  { path: '/', label: 'Overview', key: 'o' },
  { path: '/schedule', label: 'Schedule ahead', key: 's' },
  { path: '/triggers', label: 'Triggers', key: 't' },
  { path: '/history', label: 'History', key: 'h' },
  { path: '/cluster', label: 'Cluster', key: 'c' },
  { path: '/services', label: 'Services', key: 'v' },
];

function Login({ onSession }: { onSession: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      onSession(await session(token.trim()));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? new Error('That token is not valid.')
          : failure,
      );
    }
  };
  return (
    <main class="login">
      <h1>Belfry</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Access token</label>
        <p class="muted" id="token-help">
          The read-only token (BELFRY_HTTP_READ_TOKEN) lets you look; the admin token (BELFRY_HTTP_TOKEN) lets
          you act.
        </p>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          aria-describedby="token-help"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <button type="submit" class="primary">
          Log in
        </button>
        {error !== null && <Failure error={error} />}
      </form>
    </main>
  );
}

function Routes({ me }: { me: Session }) {
  const { path, params } = useLocation();
  const trigger = /^\/triggers\/(.+)$/.exec(path);
  const execution = /^\/executions\/(\d+)$/.exec(path);
  if (path === '/' || path === '') return <Overview />;
  if (path === '/schedule') return <ScheduleAhead params={params} />;
  if (path === '/triggers') return <Triggers params={params} />;
  if (trigger) return <TriggerPage name={decodeURIComponent(trigger[1]!)} params={params} me={me} />;
  if (path === '/history') return <History params={params} />;
  if (execution) return <ExecutionPage id={execution[1]!} me={me} />;
  if (path === '/cluster') return <Cluster />;
  if (path === '/services') return <Services params={params} me={me} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at this address. <a href={link('/')}>Go to the overview</a>.
      </p>
    </section>
  );
}

function Shell({ me }: { me: Session }) {
  const { path } = useLocation();
  const live = useLiveStatus();
  const [help, setHelp] = useState(false);
  useEffect(() => {
    startLive();
    let pendingG = false;
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.metaKey || event.ctrlKey || event.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))
        return;
      if (event.key === '?') setHelp((h) => !h);
      else if (event.key === '/') {
        const search = document.querySelector<HTMLInputElement>('[data-search]');
        if (search) {
          event.preventDefault();
          search.focus();
        }
      } else if (event.key === 'g') pendingG = true;
      else if (pendingG) {
        pendingG = false;
        const item = NAV.find((n) => n.key === event.key);
        if (item) navigate(item.path);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      stopLive();
    };
  }, []);
  useEffect(() => document.getElementById('page-title')?.focus({ preventScroll: true }), [path]);
  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={link('/')}>
          Belfry
        </a>
        <nav aria-label="Pages">
          <ul>
            {NAV.map((item) => {
              const active =
                item.path === '/'
                  ? path === '/'
                  : section === item.path || (item.path === '/history' && section === '/executions');
              return (
                <li key={item.path}>
                  <a href={link(item.path)} aria-current={active ? 'page' : undefined}>
                    {item.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <div class="who">
          <span
            class={live ? 'live on' : 'live'}
            title={live ? 'live updates connected' : 'live updates disconnected'}
          >
            {live ? 'live' : 'offline'}
          </span>
          <span>
            {me.name} ({me.scope === 'admin' ? 'admin' : 'read-only'})
          </span>
          {me.authenticated && <a href="/ui/logout">Log out</a>}
        </div>
      </header>
      <main id="main">
        {help && (
          <aside class="help" aria-label="Keyboard shortcuts">
            <p>
              <kbd>g</kbd> then {NAV.map((n) => `${n.key} ${n.label.toLowerCase()}`).join(', ')}; <kbd>/</kbd>{' '}
              search; <kbd>?</kbd> this help. Tab moves through links and buttons.
            </p>
          </aside>
        )}
        <Routes me={me} />
      </main>
    </>
  );
}

function App() {
  const [me, setMe] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    session().then(setMe, (failure: unknown) => {
      if (failure instanceof ApiError && failure.status === 401) setMe(null);
      else setError(failure);
    });
  }, []);
  if (error !== null)
    return (
      <main>
        <Failure error={error} />
      </main>
    );
  if (me === undefined) return <main aria-busy="true">Loading…</main>;
  if (me === null) return <Login onSession={setMe} />;
  return <Shell me={me} />;
}

installLinkHandler();
render(<App />, document.getElementById('app')!);
