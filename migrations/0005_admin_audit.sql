-- The admin API's audit trail (src/store/admin-audit-store.ts): one row per state-changing call that
-- reached a handler (pause, resume, fire, delete), successful or not: who (the token's name), what
-- (operation, path, target), when (database time), from where (client address), and the answer's status.
-- Calls refused before a handler (no or wrong token, wrong Host or Origin, rate limit) are only logged:
-- an unauthenticated flood must not be able to grow this table.
-- Additive: no existing object changes.
CREATE TABLE admin_audit (
  id             bigserial   PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  actor          text        NOT NULL,
  scope          text        NOT NULL,
  method         text        NOT NULL,
  operation      text        NOT NULL,
  path           text        NOT NULL,
  target         jsonb,
  status         integer     NOT NULL,
  remote_address text,
  user_agent     text,
  instance_id    text
);

CREATE INDEX admin_audit_at ON admin_audit (at DESC, id DESC);
