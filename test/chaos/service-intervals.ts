/**
 * The services chaos test's verdict, from the interval log alone (test/support/service-replica.ts): a
 * pure function, unit-tested on hand-made logs (test/unit/hosted/service-intervals.test.ts), so that a
 * passing chaos run means the checks looked at something.
 */
export type IntervalLine =
  | { service: string; shard: number; epoch: number; pid: number; start: number; end: number }
  | { service: string; shard: number; epoch: number; pid: number; checkpoint: number; at: number };

export interface FaultWindow {
  kind: 'kill' | 'stall' | 'cut' | 'restart';
  /** CLOCK_MONOTONIC ms, as the interval log. */
  start: number;
  end: number;
  what: string;
}

export interface Run {
  shard: string;
  pid: number;
  epoch: number;
  start: number;
  end: number;
}

export interface Gap {
  shard: string;
  from: number;
  to: number;
  after: Run;
  before: Run | null;
}

export interface IntervalReport {
  shards: string[];
  runs: number;
  handovers: number;
  checkpoints: number;
  overlaps: { shard: string; first: Run; second: Run }[];
  epochRegressions: { shard: string; first: Run; second: Run }[];
  checkpointRegressions: { shard: string; seq: number; after: number; pid: number }[];
  gaps: Gap[];
  unexplained: Gap[];
  longestGapMs: number;
}

export function checkIntervals(
  lines: readonly IntervalLine[],
  faults: readonly FaultWindow[],
  options: { gapAllowedMs: number; recoveryMs: number; until: number },
): IntervalReport {
  const runsByShard = new Map<string, Map<string, Run>>();
  const checkpointsByShard = new Map<string, { seq: number; at: number; pid: number }[]>();
  for (const line of lines) {
    const shard = `${line.service}/${line.shard}`;
    if ('checkpoint' in line) {
      const list = checkpointsByShard.get(shard) ?? [];
      list.push({ seq: line.checkpoint, at: line.at, pid: line.pid });
      checkpointsByShard.set(shard, list);
      continue;
    }
    const runs = runsByShard.get(shard) ?? new Map<string, Run>();
    const id = `${line.pid}:${line.epoch}:${line.start}`;
    const run = runs.get(id);
    if (run) run.end = Math.max(run.end, line.end);
    else runs.set(id, { shard, pid: line.pid, epoch: line.epoch, start: line.start, end: line.end });
    runsByShard.set(shard, runs);
  }
  const report: IntervalReport = {
    shards: [...runsByShard.keys()].sort(),
    runs: 0,
    handovers: 0,
    checkpoints: 0,
    overlaps: [],
    epochRegressions: [],
    checkpointRegressions: [],
    gaps: [],
    unexplained: [],
    longestGapMs: 0,
  };
  for (const [shard, byId] of runsByShard) {
    const runs = [...byId.values()].sort((a, b) => a.start - b.start);
    report.runs += runs.length;
    let covering = runs[0]!;
    for (let i = 1; i < runs.length; i += 1) {
      const run = runs[i]!;
      const previous = runs[i - 1]!;
      if (run.start < covering.end) report.overlaps.push({ shard, first: covering, second: run });
      if (run.pid !== previous.pid) {
        report.handovers += 1;
        if (run.epoch <= previous.epoch)
          report.epochRegressions.push({ shard, first: previous, second: run });
      } else if (run.epoch < previous.epoch) {
        report.epochRegressions.push({ shard, first: previous, second: run });
      }
      if (run.start - covering.end > options.gapAllowedMs)
        report.gaps.push({ shard, from: covering.end, to: run.start, after: covering, before: run });
      if (run.end > covering.end) covering = run;
    }
    if (options.until - covering.end > options.gapAllowedMs)
      report.gaps.push({ shard, from: covering.end, to: options.until, after: covering, before: null });
  }
  for (const gap of report.gaps) {
    report.longestGapMs = Math.max(report.longestGapMs, gap.to - gap.from);
    // A gap opens during a fault (or its recovery), and closes before the recovery of a fault ends.
    const within = (at: number, f: FaultWindow) =>
      at >= f.start - options.gapAllowedMs && at <= f.end + options.recoveryMs;
    const explained = faults.some((f) => within(gap.from, f)) && faults.some((f) => within(gap.to, f));
    if (!explained) report.unexplained.push(gap);
  }
  for (const [shard, list] of checkpointsByShard) {
    list.sort((a, b) => a.at - b.at);
    report.checkpoints += list.length;
    for (let i = 1; i < list.length; i += 1) {
      if (list[i]!.seq <= list[i - 1]!.seq)
        report.checkpointRegressions.push({
          shard,
          seq: list[i]!.seq,
          after: list[i - 1]!.seq,
          pid: list[i]!.pid,
        });
    }
  }
  return report;
}
