-- The acquisition's ordered due walk as one function, so the hot path is one statement (docs/performance.md).
-- Additive: no existing object changes meaning.
--
-- Why a function: the walk must follow triggers_due in fire-time order and stop after `max_rows` lockable
-- rows, whatever the statistics say. On a table that filled in seconds the planner estimates a handful of
-- due rows, ANDs triggers_due with triggers_job in a bitmap, joins every due row and sorts them all to
-- return a few: O(backlog) per acquisition (31 ms at 20,000 due one-offs, seconds at 1,000,000). A
-- function's SET clauses apply to the planning of its body alone and are restored when it returns, so the
-- sort and bitmap plans are off for this walk and for nothing else, without the extra round trips of
-- set_config before and after. The caller joins `jobs` for the columns it needs; the row returned is the
-- locked version (FOR UPDATE re-reads a row a peer changed since the statement's snapshot).
--
-- search_path is fixed to the schema the migration runs in (the migrator sets it), so the body resolves
-- the same tables whatever the caller's search_path.
CREATE FUNCTION lock_due_triggers(jobs text[], max_rows bigint, lookahead_ms float8, at timestamptz)
RETURNS SETOF triggers
LANGUAGE sql VOLATILE
SET enable_sort = off
SET enable_bitmapscan = off
SET search_path FROM CURRENT
AS $$
  SELECT t.*
    FROM triggers t
    JOIN jobs j ON j.name = t.job_name
   WHERE t.state = 'waiting'
     AND t.next_fire_at <= at + lookahead_ms * interval '1 millisecond'
     -- A forbid job's trigger is never taken ahead: "is the previous run still going?" is judged on time.
     AND (j.concurrency <> 'forbid' OR t.next_fire_at <= at)
     AND t.replan_at IS NULL
     AND t.job_name = ANY(jobs)
     AND NOT j.paused
   ORDER BY t.next_fire_at, t.priority DESC
   LIMIT greatest(max_rows, 0)
     FOR UPDATE OF t SKIP LOCKED
$$;
