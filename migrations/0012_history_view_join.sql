-- job_history joins an attempt to its fire by the fire's id alone (migrations/0011 also matched the
-- partition key, scheduled_at). With both, PostgreSQL multiplies the two conditions' selectivities as if
-- they were independent, while scheduled_at follows from the id: it expected one row from joining the whole
-- history and chose a hash join of every partition, so the newest page of 80 M rows took over a minute
-- (`npm run bench:history`). By id alone it walks fires by scheduled_at backwards through the partitions
-- and probes each attempt by fire_id: 2–16 ms for a page at 80 M rows. Same columns, same meaning.

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
