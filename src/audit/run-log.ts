/**
 * The run log: an independent record of handler runs, kept outside the database by the job itself.
 *
 * The history can only show what Belfry wrote. A handler that runs twice, or runs with no attempt recorded,
 * or runs under an identity the leader has declared dead, leaves the history looking clean; the run log
 * is how a checker sees it. One JSON object per line, appended with O_APPEND (one `write` per line, so lines
 * from several processes never interleave):
 *
 *   {"kind":"run","trigger":"t","scheduledAt":"…Z","attempt":1,"executionId":"42","instanceId":"…",
 *    "pid":123,"wallTime":"…Z"}
 *   {"kind":"clock","pid":123,"wallTime":"…Z","dbTime":"…Z","rttMs":2}
 *
 * A `run` line is written first thing in `execute`, before the job does any work. `wallTime` is the
 * process's own clock, which may be skewed; a `clock` line, sampled now and then by the same process,
 * pairs its wall clock with the database's `clock_timestamp()`, so a checker can put run times on the
 * database's time line (see `runLogChecker`).
 */
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true }).transform((text) => new Date(text));

const runLineSchema = z.object({
  kind: z.literal('run'),
  trigger: z.string(),
  scheduledAt: instant,
  attempt: z.number().int().min(1),
  executionId: z.string(),
  instanceId: z.string(),
  pid: z.number().int(),
  wallTime: instant,
});

const clockLineSchema = z.object({
  kind: z.literal('clock'),
  pid: z.number().int(),
  wallTime: instant,
  dbTime: instant,
  rttMs: z.number().min(0),
});

export type RunLine = z.output<typeof runLineSchema>;
export type ClockLine = z.output<typeof clockLineSchema>;

export interface RunLog {
  runs: RunLine[];
  clocks: ClockLine[];
  /** 1-based numbers of lines that are not a run or clock record (a checker counts them as violations). */
  malformed: number[];
}

const lineSchema = z.discriminatedUnion('kind', [runLineSchema, clockLineSchema]);

export function parseRunLog(text: string): RunLog {
  const log: RunLog = { runs: [], clocks: [], malformed: [] };
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      log.malformed.push(index + 1);
      return;
    }
    const parsed = lineSchema.safeParse(value);
    if (!parsed.success) log.malformed.push(index + 1);
    else if (parsed.data.kind === 'run') log.runs.push(parsed.data);
    else log.clocks.push(parsed.data);
  });
  return log;
}

/** The line a handler appends when it starts (the inverse of `parseRunLog`). */
export function formatRunLine(run: Omit<RunLine, 'kind'>): string {
  return `${JSON.stringify({
    kind: 'run',
    trigger: run.trigger,
    scheduledAt: run.scheduledAt.toISOString(),
    attempt: run.attempt,
    executionId: run.executionId,
    instanceId: run.instanceId,
    pid: run.pid,
    wallTime: run.wallTime.toISOString(),
  })}\n`;
}

export function formatClockLine(clock: Omit<ClockLine, 'kind'>): string {
  return `${JSON.stringify({
    kind: 'clock',
    pid: clock.pid,
    wallTime: clock.wallTime.toISOString(),
    dbTime: clock.dbTime.toISOString(),
    rttMs: clock.rttMs,
  })}\n`;
}
