import { defineTrigger } from '@autoflow/provider-registry';
import { z } from 'zod';

export const runTrigger = defineTrigger({
  id: 'run',
  name: 'Run by hand',
  description: 'Runs when someone calls POST /api/workflows/:id/run, with an optional payload.',
  kind: 'manual',
  config: z.object({}).strict(),
  output: z.object({ payload: z.unknown() }),
  sampleOutput: { payload: { note: 'hello' } },
});
