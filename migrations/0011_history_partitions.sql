-- Time-partitioned history (docs/decisions/0011-partitioned-history.md).
--
-- fires and executions become PARTITION BY RANGE (scheduled_at): one partition per week (Monday 00:00 UTC
-- to the next Monday), named <table>_pYYYYMMDD after the week's Monday, plus <table>_default for rows of a
-- week that has no partition (older than two years at this upgrade, or ahead of the weeks the leader's
-- history pruner keeps created: src/store/partition-store.ts). Retention then drops a whole expired week
-- instead of deleting its rows one by one, and the hot path, which always knows a fire's scheduled time,
-- touches one partition of each table whatever the size of the history.
--
-- Contract: every column of both tables keeps its name, type and meaning; executions gains scheduled_at,
-- its fire's scheduled_at (a fire's scheduled time never changes), written by every INSERT. job_history
-- keeps its exact columns.
--
-- Keys: PostgreSQL requires the partition key in every unique index. fires_once (trigger_id, scheduled_at)
-- already holds it and stays global: one (trigger, scheduled time) lives in exactly one partition.
-- The continuation key gains scheduled_at (a continuation fire's scheduled time is its upstream fire's,
-- which upstream_fire_id determines: the same key); executions_attempt_once likewise (fire_id determines
-- scheduled_at). The foreign key executions.fire_id -> fires(id) is dropped: on a partitioned table it
-- would have to name (fire_id, scheduled_at), and it cost the firing path a lookup per fire; every delete
-- of fires in src/store deletes their executions in the same statement instead.
--
-- Upgrade cost: this rewrites the whole history (one INSERT … SELECT per table, then the indexes), in
-- one transaction, holding the old tables locked: plan it like a VACUUM FULL of both tables.

DROP VIEW job_history;

ALTER TABLE executions RENAME TO executions_unpartitioned;
ALTER TABLE fires RENAME TO fires_unpartitioned;

CREATE TABLE fires (
  id                        bigint NOT NULL DEFAULT nextval('fires_id_seq'),
  trigger_id                bigint REFERENCES triggers (id) ON DELETE SET NULL,
  trigger_name              text NOT NULL,
  trigger_group             text NOT NULL,
  job_name                  text NOT NULL,
  scheduled_at              timestamptz NOT NULL,
  fired_at                  timestamptz NOT NULL DEFAULT belfry_now(),
  instance_id               uuid,
  data                      jsonb,
  trace_context             jsonb,
  origin                    text NOT NULL DEFAULT 'schedule'
                              CONSTRAINT fires_origin_check
                              CHECK (origin IN ('schedule', 'continuation', 'fan-in', 'backfill')),
  after_trigger_id          bigint REFERENCES triggers (id) ON DELETE SET NULL,
  upstream_fire_id          bigint,
  upstream_fire_ids         bigint[],
  backfill_overlap          text CONSTRAINT fires_backfill_overlap_check CHECK (backfill_overlap IN ('skip', 'allow')),
  dead_letter_discarded_at  timestamptz,
  dead_letter_discarded_by  text
) PARTITION BY RANGE (scheduled_at);

CREATE TABLE executions (
  id            bigint NOT NULL DEFAULT nextval('executions_id_seq'),
  fire_id       bigint NOT NULL,
  attempt       integer NOT NULL CONSTRAINT executions_attempt_check CHECK (attempt >= 1),
  job_name      text NOT NULL,
  status        text NOT NULL CONSTRAINT executions_status_check CHECK (status IN ('pending', 'running',
                  'succeeded', 'failed', 'timed_out', 'skipped', 'vetoed', 'misfired', 'recovered', 'abandoned',
                  'cancelled')),
  instance_id   uuid,
  run_at        timestamptz NOT NULL DEFAULT belfry_now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  error         text,
  result        jsonb,
  trace_id      text,
  leader_epoch  bigint,
  requested     text CONSTRAINT executions_requested_check CHECK (requested IN ('retry', 'rerun', 'cancel')),
  requested_by  text,
  -- The fire's scheduled_at (denormalised: the partition key, so a lookup by id prunes to one week).
  scheduled_at  timestamptz NOT NULL
) PARTITION BY RANGE (scheduled_at);

-- The weeks of the existing history (at most two years back: older rows go to the default partition)
-- through two weeks ahead of now, created before the rows are copied and the indexes built.
DO $$
DECLARE
  this_week timestamptz := date_trunc('week', belfry_now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  oldest timestamptz := (SELECT date_trunc('week', min(scheduled_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                           FROM fires_unpartitioned);
  week timestamptz;
  name text;
BEGIN
  week := greatest(least(coalesce(oldest, this_week), this_week), this_week - interval '104 weeks');
  WHILE week <= this_week + interval '2 weeks' LOOP
    name := to_char(week AT TIME ZONE 'UTC', 'YYYYMMDD');
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.fires FOR VALUES FROM (%L) TO (%L)',
                   current_schema(), 'fires_p' || name, current_schema(), week, week + interval '1 week');
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.executions FOR VALUES FROM (%L) TO (%L)',
                   current_schema(), 'executions_p' || name, current_schema(), week, week + interval '1 week');
    week := week + interval '1 week';
  END LOOP;
END
$$;
CREATE TABLE fires_default PARTITION OF fires DEFAULT;
CREATE TABLE executions_default PARTITION OF executions DEFAULT;

INSERT INTO fires (id, trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id, data,
                   trace_context, origin, after_trigger_id, upstream_fire_id, upstream_fire_ids, backfill_overlap,
                   dead_letter_discarded_at, dead_letter_discarded_by)
SELECT id, trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id, data,
       trace_context, origin, after_trigger_id, upstream_fire_id, upstream_fire_ids, backfill_overlap,
       dead_letter_discarded_at, dead_letter_discarded_by
  FROM fires_unpartitioned;

-- Every execution had its fire (the dropped foreign key guaranteed it).
INSERT INTO executions (id, fire_id, attempt, job_name, status, instance_id, run_at, started_at, finished_at, error,
                        result, trace_id, leader_epoch, requested, requested_by, scheduled_at)
SELECT e.id, e.fire_id, e.attempt, e.job_name, e.status, e.instance_id, e.run_at, e.started_at, e.finished_at,
       e.error, e.result, e.trace_id, e.leader_epoch, e.requested, e.requested_by, f.scheduled_at
  FROM executions_unpartitioned e JOIN fires_unpartitioned f ON f.id = e.fire_id;

-- The sequences (and their values) pass to the new tables before the old ones go.
ALTER SEQUENCE fires_id_seq OWNED BY fires.id;
ALTER SEQUENCE executions_id_seq OWNED BY executions.id;
DROP TABLE executions_unpartitioned;
DROP TABLE fires_unpartitioned;

ALTER TABLE fires ADD CONSTRAINT fires_pkey PRIMARY KEY (id, scheduled_at);
ALTER TABLE fires ADD CONSTRAINT fires_once UNIQUE (trigger_id, scheduled_at);
CREATE INDEX fires_scheduled ON fires (scheduled_at);
CREATE INDEX fires_job ON fires (job_name, scheduled_at);
CREATE INDEX fires_trigger_name ON fires (trigger_name, scheduled_at);
CREATE UNIQUE INDEX fires_continuation_once ON fires (after_trigger_id, upstream_fire_id, scheduled_at)
  WHERE origin = 'continuation';
CREATE UNIQUE INDEX fires_fan_in_once ON fires (after_trigger_id, scheduled_at) WHERE origin = 'fan-in';
CREATE INDEX fires_upstream ON fires (upstream_fire_id) WHERE upstream_fire_id IS NOT NULL;

ALTER TABLE executions ADD CONSTRAINT executions_pkey PRIMARY KEY (id, scheduled_at);
ALTER TABLE executions ADD CONSTRAINT executions_attempt_once UNIQUE (fire_id, attempt, scheduled_at);
CREATE INDEX executions_pending ON executions (run_at) WHERE status = 'pending';
CREATE INDEX executions_running ON executions (instance_id) WHERE status = 'running';
CREATE INDEX executions_running_job ON executions (job_name) WHERE status IN ('running', 'pending');
CREATE INDEX executions_status_started ON executions (status, started_at);
CREATE INDEX executions_final_failures ON executions (fire_id, attempt DESC) WHERE status IN ('failed', 'timed_out');

-- As in migrations/0009, the same columns; the join also matches the partition key, so a lookup by
-- execution finds its fire in one partition.
CREATE VIEW job_history AS
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
JOIN fires f ON f.id = e.fire_id AND f.scheduled_at = e.scheduled_at
LEFT JOIN instances i ON i.id = e.instance_id;
