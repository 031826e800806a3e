-- Replanning, outage-wide misfire decisions and paused reasons (docs/decisions/0004-replanning.md).
-- Additive: no existing object changes meaning.

-- Set by every writer that changes a trigger's schedule (apply, calendar edits): the database time of the
-- change. Only the fire planner, under the acquisition row lock, computes the next fire from it and
-- clears it (architecture invariant 6). The old next_fire_at stays, so a fire that was already due when
-- the change came is kept.
ALTER TABLE triggers ADD COLUMN replan_at timestamptz;

-- Set when the planner finds a trigger misfired: the database time of that decision. Every fire scheduled
-- at or before it belongs to the same outage, however many acquisitions the walk through it takes, so
-- the misfire policy is decided once per outage.
ALTER TABLE triggers ADD COLUMN misfire_until timestamptz;

-- Why the engine paused a trigger (its schedule no longer compiles, say); null for an operator's pause.
ALTER TABLE triggers ADD COLUMN paused_reason text;

-- The acquisition's second entry: triggers waiting to be replanned, oldest change first. Partial, so the
-- index holds only the handful of rows an apply just touched.
CREATE INDEX triggers_replan ON triggers (replan_at) WHERE replan_at IS NOT NULL AND state = 'waiting';
