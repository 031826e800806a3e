/** The pause and resume routes of one kind of target (a trigger, a job, a group): one shape, three uses. */
import { setPaused } from '../operations/pause-operations.js';
import { route } from './route.js';
import { nameParams, pauseResultSchema } from './wire.js';

type Kind = 'trigger' | 'job' | 'group';

export function pauseResumeRoutes(
  kind: Kind,
  options: {
    collection: string;
    tag: 'triggers' | 'jobs' | 'groups';
    summary: { pause: string; resume: string };
  },
) {
  const capitalized = `${kind[0]!.toUpperCase()}${kind.slice(1)}`;
  return (['pause', 'resume'] as const).map((action) =>
    route({
      method: 'POST',
      path: `/${options.collection}/:name/${action}`,
      operationId: `${action}${capitalized}`,
      tag: options.tag,
      summary: options.summary[action],
      params: nameParams,
      status: 200,
      response: pauseResultSchema,
      responseDescription: 'what changed',
      problems: [404],
      async handle({ params }, { executor }) {
        const target = { [kind]: params.name } as { trigger: string } | { job: string } | { group: string };
        const changed = await setPaused(executor, { target, paused: action === 'pause' });
        return { target, paused: action === 'pause', changed };
      },
    }),
  );
}
