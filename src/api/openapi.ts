/**
 * The OpenAPI 3.1 document of the admin API, generated from the route declarations and their zod
 * schemas (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Committed as
 * docs/openapi.json; a test checks that the served document equals the committed one.
 */
import { z } from 'zod';
import { BELFRY_VERSION } from '../scheduler.js';
import { problemSchema } from './problem.js';
import type { ApiRoute } from './route.js';

type JsonSchema = Record<string, unknown>;

export const API_PREFIX = '/api/v1';

interface Components {
  schemas: Record<string, JsonSchema>;
}

/** Converts a schema, moving named ($defs) schemas into the document's components. */
function toSchema(schema: z.ZodType, io: 'input' | 'output', components: Components): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      // z.iso.datetime() adds a long regex next to `format: date-time`; the format says it.
      if (ctx.jsonSchema.format === 'date-time') delete ctx.jsonSchema.pattern;
    },
  }) as JsonSchema;
  const rewritten = JSON.parse(
    JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as JsonSchema;
  const {
    $schema: _schema,
    $defs,
    ...rest
  } = rewritten as JsonSchema & { $defs?: Record<string, JsonSchema> };
  for (const [id, definition] of Object.entries($defs ?? {})) components.schemas[id] = definition;
  // A schema that is itself named becomes a reference too.
  const id = (rest as { id?: string }).id;
  if (typeof id === 'string') {
    delete (rest as { id?: string }).id;
    components.schemas[id] = rest;
    return { $ref: `#/components/schemas/${id}` };
  }
  return rest;
}

function parameters(
  schema: z.ZodType | undefined,
  location: 'path' | 'query',
  components: Components,
): JsonSchema[] {
  if (!schema) return [];
  const object = toSchema(schema, 'input', components) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: location,
      required: location === 'path' || (object.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
      ...(location === 'query' && (rest.anyOf as unknown[] | undefined)?.length ? { explode: true } : {}),
    };
  });
}

const STATUS_TEXT: Record<number, string> = {
  400: 'invalid path, query or body (nothing was changed)',
  401: 'a bearer token is required (when the server listens beyond loopback)',
  404: 'no such trigger, job or group (nothing was changed)',
  409: 'a concurrent change got in the way (nothing was changed); retry',
  500: 'the request failed',
};

export function buildOpenApiDocument(routes: readonly ApiRoute[]): JsonSchema {
  const components: Components = { schemas: {} };
  const problem = toSchema(problemSchema, 'output', components);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const spec of routes) {
    const path = API_PREFIX + spec.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const problems = [...new Set([...spec.problems, 401, 500])].sort();
    paths[path] ??= {};
    paths[path]![spec.method.toLowerCase()] = {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      parameters: [
        ...parameters(spec.params, 'path', components),
        ...parameters(spec.query, 'query', components),
      ],
      ...(spec.body
        ? {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: toSchema(spec.body, 'input', components) } },
            },
          }
        : {}),
      responses: {
        [spec.status]: {
          description: spec.responseDescription,
          content: { 'application/json': { schema: toSchema(spec.response, 'output', components) } },
        },
        ...Object.fromEntries(
          problems.map((status) => [
            status,
            {
              description: STATUS_TEXT[status] ?? 'error',
              content: { 'application/problem+json': { schema: problem } },
            },
          ]),
        ),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Belfry admin API',
      version: BELFRY_VERSION,
      description:
        'Served by every replica on BELFRY_HTTP_HOST:BELFRY_HTTP_PORT. A bearer token is required whenever one is configured, and one must be whenever the server listens on anything but loopback: BELFRY_HTTP_TOKEN may change things, BELFRY_HTTP_READ_TOKEN may only read. State-changing requests (POST, DELETE) must be sent as application/json, even without a body, and are recorded in the audit trail (GET /api/v1/audit). Requests whose Host does not name the server, or whose Origin is another site, are refused with 403; a read-only token is refused changes with 403; requests without a token are rate-limited per address (429). Errors are RFC 9457 problem details.',
    },
    servers: [{ url: '/' }],
    tags: ['cluster', 'triggers', 'jobs', 'groups', 'history', 'meta'].map((name) => ({ name })),
    security: [{ bearer: [] }, {}],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components.schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'BELFRY_HTTP_TOKEN (admin) or BELFRY_HTTP_READ_TOKEN (GET only); not required on loopback when neither is set',
        },
      },
    },
  };
}
