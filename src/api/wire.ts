/**
 * How values travel over the API: instants as ISO 8601 UTC strings, names in paths, and the answer every
 * pause or resume gives.
 */
import { z } from 'zod';

export const instant = (description: string) => z.iso.datetime({ offset: true }).describe(description);

export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

export const nameParams = z.object({ name: z.string().min(1).max(300) }).strict();

export const pauseResultSchema = z
  .object({
    target: z
      .union([
        z.object({ trigger: z.string() }),
        z.object({ job: z.string() }),
        z.object({ group: z.string() }),
        z.object({ all: z.literal(true) }),
      ])
      .describe('what was paused or resumed'),
    paused: z.boolean().describe('true after a pause, false after a resume'),
    changed: z.number().int().describe('triggers whose state changed (0 when all already were)'),
  })
  .meta({ id: 'PauseResult' });
