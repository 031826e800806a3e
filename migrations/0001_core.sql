-- Belfry core schema. Runs with search_path set to the Belfry schema (default "belfry"); names are
-- unqualified on purpose so that the schema is configurable. Forward-only: never edit a released file.

-- Replicas. An instance row is never reused: a replica that was declared dead registers anew.
CREATE TABLE instances (
  id               uuid PRIMARY KEY,
  name             text NOT NULL,
  host             text NOT NULL,
  pid              integer NOT NULL,
  version          text NOT NULL,
  -- Key of the session-level advisory lock the replica holds while its session lives: the leader sees a
  -- crashed replica the moment PostgreSQL ends its session, without waiting for missed check-ins.
  lock_key         integer NOT NULL UNIQUE,
  started_at       timestamptz NOT NULL DEFAULT now(),
  last_checkin_at  timestamptz NOT NULL DEFAULT now(),
  stopped_at       timestamptz,
  state            text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'stopped', 'dead')),
  dead_reason      text
);
CREATE SEQUENCE instance_lock_key AS integer CYCLE;
CREATE INDEX instances_active ON instances (last_checkin_at) WHERE state = 'active';

-- The leader lease: a single row. epoch grows at every change of holder and fences leader-only writes.
CREATE TABLE leader (
  id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  holder       uuid,
  epoch        bigint NOT NULL DEFAULT 0,
  acquired_at  timestamptz,
  expires_at   timestamptz
);
INSERT INTO leader (id) VALUES (1);

-- One row per leadership term, so an audit can check every leader-only write against the term it claims.
CREATE TABLE leader_terms (
  epoch        bigint PRIMARY KEY,
  holder       uuid NOT NULL,
  acquired_at  timestamptz NOT NULL,
  ended_at     timestamptz,
  end_reason   text
);

CREATE TABLE jobs (
  name          text PRIMARY KEY,
  module        text,
  export_name   text,
  description   text,
  data          jsonb NOT NULL DEFAULT '{}'::jsonb,
  concurrency   text NOT NULL DEFAULT 'allow' CHECK (concurrency IN ('allow', 'forbid')),
  timeout_ms    integer CHECK (timeout_ms > 0),
  max_attempts  integer NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
  backoff       jsonb NOT NULL DEFAULT '{}'::jsonb,
  recover       boolean NOT NULL DEFAULT false,
  paused        boolean NOT NULL DEFAULT false,
  source        text NOT NULL DEFAULT 'code',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE calendars (
  name        text PRIMARY KEY,
  spec        jsonb NOT NULL,
  source      text NOT NULL DEFAULT 'code',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE triggers (
  id                 bigserial PRIMARY KEY,
  name               text NOT NULL UNIQUE,
  group_name         text NOT NULL DEFAULT 'default',
  job_name           text NOT NULL REFERENCES jobs (name) ON DELETE CASCADE,
  kind               text NOT NULL,
  spec               jsonb NOT NULL,
  calendar_name      text,
  data               jsonb,
  priority           integer NOT NULL DEFAULT 0,
  state              text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'paused', 'complete')),
  next_fire_at       timestamptz,
  previous_fire_at   timestamptz,
  start_at           timestamptz,
  end_at             timestamptz,
  max_fires          bigint CHECK (max_fires > 0),
  times_fired        bigint NOT NULL DEFAULT 0,
  misfire_policy     text NOT NULL DEFAULT 'fire-once-now'
                       CHECK (misfire_policy IN ('fire-once-now', 'fire-all', 'skip')),
  misfire_threshold_ms integer NOT NULL DEFAULT 60000 CHECK (misfire_threshold_ms >= 0),
  source             text NOT NULL DEFAULT 'code',
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- The acquisition query's index: due triggers in fire-time order.
CREATE INDEX triggers_due ON triggers (next_fire_at, priority DESC) WHERE state = 'waiting';
CREATE INDEX triggers_job ON triggers (job_name);

-- A fire is the decision that a trigger fired at a scheduled time. The UNIQUE constraint is the last line
-- of defence for exactly-once: even if the code above it were wrong, a second fire cannot be recorded.
-- trigger_id is nulled (not cascaded) when a trigger is deleted: history outlives definitions.
CREATE TABLE fires (
  id             bigserial PRIMARY KEY,
  trigger_id     bigint REFERENCES triggers (id) ON DELETE SET NULL,
  trigger_name   text NOT NULL,
  trigger_group  text NOT NULL,
  job_name       text NOT NULL,
  scheduled_at   timestamptz NOT NULL,
  fired_at       timestamptz NOT NULL DEFAULT now(),
  instance_id    uuid,
  data           jsonb,
  trace_context  jsonb,
  CONSTRAINT fires_once UNIQUE (trigger_id, scheduled_at)
);
CREATE INDEX fires_scheduled ON fires (scheduled_at);
CREATE INDEX fires_job ON fires (job_name, scheduled_at);
CREATE INDEX fires_trigger_name ON fires (trigger_name, scheduled_at);

-- An execution is one attempt at running a fire's job. Retries and recoveries add attempts.
CREATE TABLE executions (
  id            bigserial PRIMARY KEY,
  fire_id       bigint NOT NULL REFERENCES fires (id) ON DELETE CASCADE,
  attempt       integer NOT NULL CHECK (attempt >= 1),
  job_name      text NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'timed_out',
                  'skipped', 'vetoed', 'misfired', 'recovered', 'abandoned')),
  instance_id   uuid,
  run_at        timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  error         text,
  result        jsonb,
  trace_id      text,
  -- The leader epoch under which a leader-only write (recovery, abandonment) changed this row.
  leader_epoch  bigint,
  CONSTRAINT executions_attempt_once UNIQUE (fire_id, attempt)
);
CREATE INDEX executions_pending ON executions (run_at) WHERE status = 'pending';
CREATE INDEX executions_running ON executions (instance_id) WHERE status = 'running';
CREATE INDEX executions_running_job ON executions (job_name) WHERE status IN ('running', 'pending');
CREATE INDEX executions_status_started ON executions (status, started_at);

-- The audit history: a public, stable contract. One row per execution attempt.
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
  e.result
FROM executions e
JOIN fires f ON f.id = e.fire_id
LEFT JOIN instances i ON i.id = e.instance_id;
