import { type Database, type Workflow, workflows } from '@autoflow/db';
import { eq } from 'drizzle-orm';

/** The cache's loader: the workflow row a hook id routes to, as stored (its webhook secret still sealed). */
export function workflowByHookId(db: Database): (hookId: string) => Promise<Workflow | undefined> {
  return async (hookId) => {
    const [row] = await db.select().from(workflows).where(eq(workflows.webhookId, hookId));
    return row;
  };
}
