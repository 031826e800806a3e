/**
 * A small router over the History API: every page and filter is a URL under /ui/, so any view can be
 * bookmarked, shared and opened in a new tab.
 */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';

export interface Location {
  path: string;
  params: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Location {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/';
  return { path, params: new URLSearchParams(location.search) };
}

export function navigate(to: string, replace = false): void {
  const url = to.startsWith(BASE) ? to : `${BASE}${to}`;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
  if (!replace) window.scrollTo(0, 0);
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return loc;
}

/** Intercepts clicks on in-app links (plain left clicks only: new tabs keep working). */
export function installLinkHandler(): void {
  document.addEventListener('click', (event) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    const anchor = (event.target as Element | null)?.closest('a');
    const href = anchor?.getAttribute('href');
    if (!anchor || !href || !href.startsWith(`${BASE}/`) || anchor.target) return;
    event.preventDefault();
    navigate(href);
  });
}

export const link = (path: string, params: Record<string, string | undefined> = {}): string => {
  const entries = Object.entries(params).filter((e): e is [string, string] => !!e[1]);
  return `${BASE}${path}${entries.length ? `?${new URLSearchParams(entries).toString()}` : ''}`;
};
