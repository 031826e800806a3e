-- Continuations, dead letters, manual retries and re-runs, cancel and backfill (docs/continuations.md).
-- Contract change: executions.status and job_history.status gain `cancelled`; job_history gains columns at
-- its end (origin, requested, requested_by, upstream_fire_id, dead_letter_discarded_at). Nothing existing
-- changes meaning.

-- `cancelled`: an operator cancelled the attempt (belfry cancel); its signal was aborted where it ran.
ALTER TABLE executions DROP CONSTRAINT executions_status_check;
ALTER TABLE executions ADD CONSTRAINT executions_status_check CHECK (status IN ('pending', 'running', 'succeeded',
  'failed', 'timed_out', 'skipped', 'vetoed', 'misfired', 'recovered', 'abandoned', 'cancelled'));

-- An attempt an operator asked for (retry of a failed fire, re-run of a succeeded one), or an attempt an
-- operator cancelled: what was asked and by whom (the admin API's principal, or the CLI's OS user).
ALTER TABLE executions ADD COLUMN requested text CHECK (requested IN ('retry', 'rerun', 'cancel'));
ALTER TABLE executions ADD COLUMN requested_by text;

-- Where a fire came from. `continuation` and `fan-in` fires have no trigger_id (their trigger has no time
-- schedule, and UNIQUE (trigger_id, scheduled_at) must not make two upstream fires at the same instant
-- collide): after_trigger_id names the `after:` trigger, and the unique indexes below are their
-- exactly-once keys. `backfill` fires are ordinary fires of their trigger (fires_once keeps a backfill
-- idempotent), created by `belfry backfill` for a past window.
ALTER TABLE fires ADD COLUMN origin text NOT NULL DEFAULT 'schedule'
  CHECK (origin IN ('schedule', 'continuation', 'fan-in', 'backfill'));
ALTER TABLE fires ADD COLUMN after_trigger_id bigint REFERENCES triggers (id) ON DELETE SET NULL;
-- The upstream fire whose outcome fired this continuation (for a fan-in, the one that completed the set).
ALTER TABLE fires ADD COLUMN upstream_fire_id bigint;
-- Every upstream fire of the continuation (one, or each member of a fan-in), for ctx.upstream.
ALTER TABLE fires ADD COLUMN upstream_fire_ids bigint[];
-- A backfilled fire's overlap policy: `skip` records it skipped when it comes due while another
-- backfilled run of the same trigger still runs.
ALTER TABLE fires ADD COLUMN backfill_overlap text CHECK (backfill_overlap IN ('skip', 'allow'));
-- A dead letter an operator discarded (it stays in the history, out of the dead-letter list).
ALTER TABLE fires ADD COLUMN dead_letter_discarded_at timestamptz;
ALTER TABLE fires ADD COLUMN dead_letter_discarded_by text;

-- The exactly-once keys: one continuation per (after: trigger, upstream fire); one fan-in fire per
-- (after: trigger, upstream schedule time). Written in the transaction that records the upstream outcome.
CREATE UNIQUE INDEX fires_continuation_once ON fires (after_trigger_id, upstream_fire_id)
  WHERE origin = 'continuation';
CREATE UNIQUE INDEX fires_fan_in_once ON fires (after_trigger_id, scheduled_at) WHERE origin = 'fan-in';
CREATE INDEX fires_upstream ON fires (upstream_fire_id) WHERE upstream_fire_id IS NOT NULL;

-- Continuation triggers by upstream job, read by every completion that records a final outcome.
CREATE INDEX triggers_after_job ON triggers ((spec->>'job')) WHERE kind = 'after';
CREATE INDEX triggers_after ON triggers (id) WHERE kind = 'after';

-- A fan-in's progress for one upstream schedule time: which upstream jobs have succeeded so far. Written
-- with INSERT … ON CONFLICT DO UPDATE, which serializes two replicas completing two upstreams at once (the
-- second sees the first's arrival), so the set is complete exactly once.
CREATE TABLE fan_in_arrivals (
  after_trigger_id  bigint NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
  scheduled_at      timestamptz NOT NULL,
  jobs              text[] NOT NULL,
  fire_ids          bigint[] NOT NULL,
  first_at          timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (after_trigger_id, scheduled_at)
);
CREATE INDEX fan_in_arrivals_first ON fan_in_arrivals (first_at);

-- Dead letters: fires whose latest attempt failed or timed out with no retry left.
CREATE INDEX executions_final_failures ON executions (fire_id, attempt DESC) WHERE status IN ('failed', 'timed_out');

CREATE OR REPLACE VIEW job_history AS
SELECT
  e.id                 AS execution_id,
  f.id                 AS fire_id,
  f.job_name           AS job,
  f.trigger_name       AS trigger,
  f.trigger_group      AS trigger_group,
  f.scheduled_at,
  f.fired_at,
  e.started_at,
  e.finished_at,
  (extract(epoch FROM (coalesce(e.started_at, f.fired_at) - f.scheduled_at)) * 1000)::bigint AS lag_ms,
  (extract(epoch FROM (e.finished_at - e.started_at)) * 1000)::bigint                          AS duration_ms,
  coalesce(i.name, e.instance_id::text) AS instance,
  e.instance_id,
  e.attempt,
  e.status,
  e.error,
  e.trace_id,
  e.result,
  f.origin,
  e.requested,
  e.requested_by,
  f.upstream_fire_id,
  f.dead_letter_discarded_at
FROM executions e
JOIN fires f ON f.id = e.fire_id
LEFT JOIN instances i ON i.id = e.instance_id;
