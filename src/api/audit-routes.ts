/**
 * `GET /api/v1/audit`: the admin audit trail (who changed what through the API, when, from where),
 * newest first. The same filter as `belfry history --admin` (toAdminAuditFilter).
 */
import { z } from 'zod';
import { queryAdminAudit, type AdminAuditEntry, type AdminAuditFilter } from '../store/admin-audit-store.js';
import { FilterFieldError, limitParameter, parseTimeBound } from './history-filter.js';
import { filteredListRoute } from './filtered-list-route.js';
import type { ApiRoute } from './route.js';
import { instant, iso } from './wire.js';

export const MAX_AUDIT_LIMIT = 10_000;

export const auditQuerySchema = z
  .object({
    actor: z.string().min(1).max(200).describe('token name (admin, read-only) or anonymous'),
    since: z.string().min(1).max(64).describe('at or after: an ISO 8601 instant or a duration ago (24h)'),
    until: z.string().min(1).max(64).describe('before: an ISO 8601 instant or a duration ago'),
    limit: limitParameter(MAX_AUDIT_LIMIT),
  })
  .partial()
  .strict();

export type AuditQuery = z.input<typeof auditQuerySchema>;

export class AuditFilterError extends FilterFieldError<keyof AuditQuery> {
  constructor(message: string, field: keyof AuditQuery) {
    super('BELFRY_ERR_BAD_AUDIT_FILTER', message, field);
  }
}

/** Checks and resolves the filter; `label` names a field as the caller knows it (`--since`, `since`). */
export function toAdminAuditFilter(
  query: AuditQuery,
  now: Date,
  label: (field: keyof AuditQuery) => string = (field) => field,
): AdminAuditFilter {
  const bound = (field: 'since' | 'until') => {
    const value = query[field];
    if (value === undefined) return undefined;
    try {
      return parseTimeBound(value, label(field), now);
    } catch (error) {
      throw new AuditFilterError((error as Error).message, field);
    }
  };
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT)
    throw new AuditFilterError(`${label('limit')} must be between 1 and ${MAX_AUDIT_LIMIT}`, 'limit');
  const since = bound('since');
  const until = bound('until');
  if (since && until && since >= until)
    throw new AuditFilterError(`${label('since')} must be before ${label('until')}`, 'since');
  return { actor: query.actor, since, until, limit };
}

export const auditEntrySchema = z
  .object({
    id: z.string().describe('a bigint, as a string'),
    at: instant('when the call was handled (database time)'),
    actor: z.string().describe('the token name: admin, read-only, or anonymous when no token is configured'),
    scope: z.enum(['read', 'admin']),
    method: z.string(),
    operation: z.string().describe('the operationId of the endpoint'),
    path: z.string(),
    target: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('path parameters and body; fire data redacted'),
    status: z.number().int().describe('the status the call was answered with'),
    remoteAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    instanceId: z.string().nullable().describe('the replica that served the call'),
  })
  .meta({ id: 'AuditEntry', description: 'one state-changing admin API call' });

export function toAuditEntry(entry: AdminAuditEntry): z.input<typeof auditEntrySchema> {
  return { ...entry, scope: entry.scope as 'read' | 'admin', at: iso(entry.at) };
}

export const auditRoutes: ApiRoute[] = [
  filteredListRoute({
    path: '/audit',
    operationId: 'getAdminAudit',
    summary: 'State-changing admin API calls, newest first',
    description: 'Who (token name), what, when and from where; the same filters as `belfry history --admin`.',
    query: auditQuerySchema,
    row: auditEntrySchema,
    responseDescription: 'matching calls, newest first',
    filter: (query, now) => toAdminAuditFilter(query, now),
    list: queryAdminAudit,
    toWire: toAuditEntry,
  }),
];
