-- The schedules a change replaced, kept until the planner has walked them (docs/decisions/0004-replanning.md).
-- Additive: no existing object changes meaning.

-- A JSON array, oldest first, of {"spec": <the spec in effect>, "until": <database time of the change that
-- replaced it>}. A writer that changes a trigger's schedule appends the spec it replaces, with now(). The
-- planner walks the trigger on the piecewise schedule (each superseded spec up to its change, the current
-- spec after the last change), so the times the old schedule owed up to the change are kept, and clears
-- this with replan_at once the next fire is past the last change. Null when no change is pending.
ALTER TABLE triggers ADD COLUMN superseded_schedules jsonb;

-- lock_due_triggers (0006) returns SETOF triggers with `SELECT t.*`: the new column is part of its rows
-- without redefining it (a SQL function's body is planned against the table's row type at each call).
