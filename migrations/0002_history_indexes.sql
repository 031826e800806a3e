-- History retention (src/store/retention-store.ts) deletes completed one-off triggers (fireNow, scheduleAt,
-- `belfry fire`, POST /api/v1/jobs/{name}/fire) oldest first. An application that fires many one-offs
-- accumulates millions of them; this keeps that cleanup an index range scan. Partial, so the triggers
-- that are still firing, and the firing path, do not carry it. Additive: no existing object changes.
CREATE INDEX triggers_complete_once ON triggers (updated_at) WHERE state = 'complete' AND kind = 'once';
