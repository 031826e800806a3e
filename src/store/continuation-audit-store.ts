/**
 * What the continuation checker (audit/continuation-checker.ts) reads: for every single-upstream `after:`
 * trigger, each fire of its upstream job scheduled in the window with its latest attempt's outcome and
 * the continuation fires recorded for it; and the execution attempts of those continuation fires.
 */
import { sql } from 'kysely';
import { table, type Executor } from './executor.js';
import type { ExecutionStatus } from './tables.js';

export interface UpstreamFact {
  afterTrigger: string;
  /** The outcomes that fire the trigger (`on`, default succeeded; `any` = succeeded, failed, timed_out). */
  on: string[];
  upstreamFireId: string;
  upstreamTrigger: string;
  scheduledAt: Date;
  /** The upstream's latest attempt. */
  status: ExecutionStatus;
  /** Each continuation fire recorded for this (trigger, upstream fire), with its attempts. */
  continuations: { fireId: string; status: ExecutionStatus; executionIds: string[] }[];
}

export async function continuationFacts(
  ex: Executor,
  window: { since: Date; until: Date },
): Promise<UpstreamFact[]> {
  const { rows } = await sql<{
    after_trigger: string;
    on: string[] | null;
    upstream_fire_id: string;
    upstream_trigger: string;
    scheduled_at: Date;
    status: ExecutionStatus;
    continuations: { fireId: string; status: ExecutionStatus; executionIds: string[] }[];
  }>`
    SELECT t.name AS after_trigger, ARRAY(SELECT jsonb_array_elements_text(t.spec->'on')) AS on,
           u.id::text AS upstream_fire_id, u.trigger_name AS upstream_trigger, u.scheduled_at, ue.status,
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                              'fireId', c.id::text,
                              'status', (SELECT status FROM ${table(ex, 'executions')} WHERE fire_id = c.id AND scheduled_at = c.scheduled_at ORDER BY attempt DESC LIMIT 1),
                              'executionIds', (SELECT jsonb_agg(id::text ORDER BY attempt) FROM ${table(ex, 'executions')} WHERE fire_id = c.id AND scheduled_at = c.scheduled_at)))
                       FROM ${table(ex, 'fires')} c
                      WHERE c.after_trigger_id = t.id AND c.upstream_fire_id = u.id AND c.scheduled_at = u.scheduled_at
                        AND c.origin = 'continuation'),
                    '[]'::jsonb) AS continuations
      FROM ${table(ex, 'triggers')} t
      JOIN ${table(ex, 'fires')} u ON u.job_name = t.spec->>'job'
      JOIN LATERAL (SELECT status FROM ${table(ex, 'executions')} WHERE fire_id = u.id AND scheduled_at = u.scheduled_at ORDER BY attempt DESC LIMIT 1) ue ON true
     WHERE t.kind = 'after' AND t.spec ? 'job'
       AND u.scheduled_at >= ${window.since} AND u.scheduled_at < ${window.until}
     ORDER BY t.name, u.scheduled_at`.execute(ex.db);
  return rows.map((row) => ({
    afterTrigger: row.after_trigger,
    on: row.on?.length ? row.on : ['succeeded'],
    upstreamFireId: row.upstream_fire_id,
    upstreamTrigger: row.upstream_trigger,
    scheduledAt: row.scheduled_at,
    status: row.status,
    continuations: row.continuations,
  }));
}
