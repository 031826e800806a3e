-- Long-running services (issue 12, docs/services.md): each shard of a service runs on exactly one replica,
-- under a lease judged by database time whose epoch fences the shard's checkpoint. Additive: no existing
-- object changes meaning.

-- A service as its registrations last described it. shards may change: leases of shards >= shards idle.
CREATE TABLE services (
  name        text PRIMARY KEY,
  shards      integer NOT NULL CHECK (shards >= 1),
  paused      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One lease per (service, shard). epoch grows at every change of holder (never on a renewal), and the
-- checkpoint can only be written by the holder of the current epoch: a stale holder's write changes
-- nothing. released_at is set by a graceful release, so a handover can be measured from it.
CREATE TABLE service_leases (
  service           text NOT NULL REFERENCES services (name) ON DELETE CASCADE,
  shard             integer NOT NULL CHECK (shard >= 0),
  holder            uuid,
  epoch             bigint NOT NULL DEFAULT 0,
  acquired_at       timestamptz,
  renewed_at        timestamptz,
  expires_at        timestamptz,
  released_at       timestamptz,
  checkpoint        jsonb,
  checkpoint_epoch  bigint,
  checkpoint_at     timestamptz,
  PRIMARY KEY (service, shard)
);
CREATE INDEX service_leases_holder ON service_leases (holder) WHERE holder IS NOT NULL;

-- Which live replicas can run a service (registered it, and its placement matches their labels): the
-- fair share of a shard count is divided by these, not by every replica.
CREATE TABLE service_members (
  service      text NOT NULL REFERENCES services (name) ON DELETE CASCADE,
  instance_id  uuid NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  PRIMARY KEY (service, instance_id)
);

-- One row per run of a shard (a start, until a stop, crash, loss or handover), and one per refused
-- checkpoint write (started_at = ended_at).
CREATE TABLE service_runs (
  id           bigserial PRIMARY KEY,
  service      text NOT NULL,
  shard        integer NOT NULL,
  instance_id  uuid NOT NULL,
  epoch        bigint NOT NULL,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  reason       text,
  error        text
);
CREATE INDEX service_runs_by_shard ON service_runs (service, shard, id);
CREATE INDEX service_runs_open ON service_runs (service, shard) WHERE ended_at IS NULL;

-- The documented, stable view for audit queries over services (as job_history is for jobs).
CREATE VIEW service_history AS
SELECT r.id, r.service, r.shard, r.instance_id AS instance, i.name AS instance_name, r.epoch,
       r.started_at, r.ended_at, coalesce(r.reason, 'running') AS reason, r.error
  FROM service_runs r LEFT JOIN instances i ON i.id = r.instance_id;
