/**
 * A route on one named resource (`/jobs/:name`, `/triggers/:name`): its path parameter is the name, and
 * it answers 404 when nothing has that name (the operations throw BELFRY_ERR_UNKNOWN_NAME). Declared
 * once here, so a route on a name can neither forget its 404 in the OpenAPI document nor validate the
 * name differently from its neighbours.
 */
import type { z } from 'zod';
import { route, type ApiRoute } from './route.js';
import { nameParams } from './wire.js';

type Schema = z.ZodType;

export function namedRoute<Q extends Schema | undefined, B extends Schema | undefined, R extends Schema>(
  spec: Omit<ApiRoute<typeof nameParams, Q, B, R>, 'params' | 'problems'> & {
    /** Error statuses besides 404 (and the 401 and 500 every route has). */
    problems?: number[];
  },
): ApiRoute {
  const problems = [...new Set([...(spec.problems ?? []), 404])].sort((a, b) => a - b);
  return route<typeof nameParams, Q, B, R>({ ...spec, params: nameParams, problems });
}
