/**
 * The live stream (server-sent events from /ui/events): one EventSource per tab, shared by the pages.
 * It carries the events of the replica that served it; pages keep what they loaded and add to it.
 */
import { useEffect, useState } from 'preact/hooks';

export interface LiveEvent {
  type: string;
  executionId?: string;
  trigger?: string;
  group?: string;
  job?: string;
  scheduledAt?: string;
  status?: string;
  error?: string | null;
  durationMs?: number;
  instanceId?: string;
  epoch?: number;
  name?: string;
  receivedAt: number;
}

type Listener = (events: LiveEvent[]) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
let connected = false;
const statusListeners = new Set<(up: boolean) => void>();
export const recent: LiveEvent[] = [];

export function startLive(): void {
  if (source) return;
  source = new EventSource('/ui/events');
  source.addEventListener('hello', () => setConnected(true));
  source.onerror = () => setConnected(false);
  source.onmessage = (message: MessageEvent<string>) => {
    const receivedAt = Date.now();
    const batch = (JSON.parse(message.data) as Omit<LiveEvent, 'receivedAt'>[]).map((e) => ({
      ...e,
      receivedAt,
    }));
    recent.unshift(...batch.reverse());
    recent.length = Math.min(recent.length, 200);
    for (const listener of listeners) listener(batch);
  };
}

export function stopLive(): void {
  source?.close();
  source = undefined;
  setConnected(false);
}

function setConnected(up: boolean) {
  connected = up;
  for (const listener of statusListeners) listener(up);
}

/** Calls `listener` with each batch of events while the component is mounted. */
export function useLiveEvents(listener: Listener): void {
  useEffect(() => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, [listener]);
}

export function useLiveStatus(): boolean {
  const [up, setUp] = useState(connected);
  useEffect(() => {
    statusListeners.add(setUp);
    return () => void statusListeners.delete(setUp);
  }, []);
  return up;
}
