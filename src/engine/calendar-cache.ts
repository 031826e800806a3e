/**
 * The stored calendars as the acquirer's schedules see them, reloaded only when they may have changed.
 *
 * Stale when: the replica starts, a NOTIFY says definitions changed, or the session came back after an
 * outage (NOTIFYs sent meanwhile are lost). The acquirer also hands over the stored calendars' stamp it
 * read under its locks (`sync`), so a change whose NOTIFY was lost is caught at the next acquisition.
 * A reload drops the compiled schedules, which were built against the old calendars.
 */
import { listCalendars } from '../store/definition-store.js';
import type { Executor } from '../store/executor.js';
import type { CalendarResolver, CalendarSpec } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';

export interface CalendarCacheOptions {
  executor: Executor;
  /** Called after each reload: compiled schedules that resolved the old calendars must be rebuilt. */
  onReloaded: () => void;
}

export class CalendarCache {
  #resolver: CalendarResolver = createCalendarResolver({});
  #stale = true;
  #stamp: string | null = null;

  constructor(private readonly options: CalendarCacheOptions) {}

  get resolver(): CalendarResolver {
    return this.#resolver;
  }

  markStale(): void {
    this.#stale = true;
  }

  /** Reloads before an acquisition if something said the calendars may have changed. */
  async reloadIfStale(): Promise<void> {
    if (this.#stale) await this.#reload();
  }

  /** Reloads when the stored calendars' stamp differs from the one last seen. */
  async sync(stamp: string): Promise<void> {
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    await this.#reload();
  }

  async #reload(): Promise<void> {
    this.#stale = false;
    const rows = await listCalendars(this.options.executor);
    this.#resolver = createCalendarResolver(
      Object.fromEntries(rows.map((row) => [row.name, row.spec as CalendarSpec])),
    );
    this.options.onReloaded();
  }
}
