-- One source of time for Belfry's SQL (docs/decisions/0008-test-clock.md).
--
-- Every statement in src/store/ and every column default reads the database clock through these two
-- functions instead of now() / clock_timestamp(). In a schema migrated normally they are exactly those
-- (plain SQL functions with one expression: the planner inlines them, so the hot path runs the same
-- plan as before). A schema created by the testing kit (belfry/testing createTestCluster) replaces their
-- bodies with ones that add the kit's clock offset; nothing else ever does, so production time cannot
-- be moved by accident.
--
-- belfry_now():   the transaction's time (now()): stable within a statement and a transaction.
-- belfry_clock(): the statement's moment (clock_timestamp()): volatile, for "how long ago, right now".
CREATE FUNCTION belfry_now() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT now() $$;

CREATE FUNCTION belfry_clock() RETURNS timestamptz
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$ SELECT clock_timestamp() $$;

-- Column defaults follow the same clock (a fire's fired_at, an instance's first check-in, ...).
ALTER TABLE instances
  ALTER COLUMN started_at SET DEFAULT belfry_now(),
  ALTER COLUMN last_checkin_at SET DEFAULT belfry_now();
ALTER TABLE jobs
  ALTER COLUMN created_at SET DEFAULT belfry_now(),
  ALTER COLUMN updated_at SET DEFAULT belfry_now();
ALTER TABLE calendars
  ALTER COLUMN created_at SET DEFAULT belfry_now(),
  ALTER COLUMN updated_at SET DEFAULT belfry_now();
ALTER TABLE triggers
  ALTER COLUMN created_at SET DEFAULT belfry_now(),
  ALTER COLUMN updated_at SET DEFAULT belfry_now();
ALTER TABLE fires ALTER COLUMN fired_at SET DEFAULT belfry_now();
ALTER TABLE executions ALTER COLUMN run_at SET DEFAULT belfry_now();
ALTER TABLE admin_audit ALTER COLUMN at SET DEFAULT belfry_now();
ALTER TABLE services
  ALTER COLUMN created_at SET DEFAULT belfry_now(),
  ALTER COLUMN updated_at SET DEFAULT belfry_now();
ALTER TABLE fan_in_arrivals
  ALTER COLUMN first_at SET DEFAULT belfry_now(),
  ALTER COLUMN updated_at SET DEFAULT belfry_now();
