/**
 * A GET of history rows under a filter (`/history`, `/audit`): the query is resolved into a filter
 * against the clock (`since=1h` means an hour before now), a bad filter answers 400 naming its field,
 * and the rows come back newest first in their wire shape. Declared once for every such list.
 */
import { z } from 'zod';
import type { Executor } from '../store/executor.js';
import { filterOrProblem } from './problem.js';
import { route, type ApiRoute } from './route.js';

export interface FilteredListSpec<Q extends z.ZodType, R extends z.ZodType, Filter, Row> {
  path: string;
  operationId: string;
  summary: string;
  description: string;
  query: Q;
  /** One row of the response, in its wire shape. */
  row: R;
  responseDescription: string;
  /** Resolves the query; throws a FilterFieldError (answered 400) for a bad field. */
  filter: (query: z.output<Q>, now: Date) => Filter;
  list: (executor: Executor, filter: Filter) => Promise<Row[]>;
  toWire: (row: Row) => z.input<R>;
}

export function filteredListRoute<Q extends z.ZodType, R extends z.ZodType, Filter, Row>(
  spec: FilteredListSpec<Q, R, Filter, Row>,
): ApiRoute {
  return route({
    method: 'GET',
    path: spec.path,
    operationId: spec.operationId,
    tag: 'history',
    summary: spec.summary,
    description: spec.description,
    query: spec.query,
    status: 200,
    response: z.array(spec.row),
    responseDescription: spec.responseDescription,
    problems: [400],
    async handle({ query }, { executor, clock }) {
      // route() parsed the query with spec.query; TypeScript cannot narrow Parsed<Q> for a generic Q.
      const filter = filterOrProblem(() => spec.filter(query as z.output<Q>, clock.now()));
      return (await spec.list(executor, filter)).map(spec.toWire);
    },
  });
}
