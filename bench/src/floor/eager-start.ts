import { z } from 'zod';

/** The bench's ask to the floor worker's own starter (IPC), one per event. */
export const eagerStartRequest = z.object({
  workflowId: z.string(),
  sinkUrl: z.string(),
  eventId: z.string(),
});
export type EagerStartRequest = z.infer<typeof eagerStartRequest>;

/** Whether the server handed the first workflow task back to the starter's worker, or why the start failed. */
export const eagerStartAnswer = z.union([
  z.object({ workflowId: z.string(), eagerlyStarted: z.boolean() }),
  z.object({ workflowId: z.string(), error: z.string() }),
]);
export type EagerStartAnswer = z.infer<typeof eagerStartAnswer>;
