import type { NotificationListener } from '@autoflow/db';
import { z } from 'zod';

// Changes of execution rows, from Postgres: a trigger on workflow_executions NOTIFYs every write (migration
// 0006), whoever wrote it (the API, any worker), so every api-gateway replica sees every change.

/** The NOTIFY channel of the trigger. */
export const EXECUTIONS_CHANNEL = 'workflow_executions';

export interface ExecutionChange {
  executionId: number;
  workflowId: number;
}

export interface ExecutionSubscriber {
  /** An execution of the workflow was written. */
  changed(change: ExecutionChange): void;
  /** The LISTEN connection was lost and is back: changes in between were missed; re-read from the last one. */
  resync(): void;
}

const notification = z.object({
  id: z.number().int().positive(),
  workflowId: z.number().int().positive(),
});

/**
 * One LISTEN per process, fanned out to the streams open in it, by workflow. Subscribers only learn which
 * execution changed; each reads the row itself (so that what it sends is the committed row, whatever the
 * notification carried).
 */
export class ExecutionChanges {
  readonly #byWorkflow = new Map<number, Set<ExecutionSubscriber>>();
  #listening: { unlisten(): Promise<void> } | undefined;
  #listens = 0;

  constructor(private readonly source: NotificationListener) {}

  async start(): Promise<void> {
    this.#listening = await this.source.listen(
      EXECUTIONS_CHANNEL,
      (payload) => this.#deliver(payload),
      () => {
        // postgres.js calls this at every (re)connection of the LISTEN: from the second on, a gap.
        this.#listens++;
        if (this.#listens > 1) for (const set of this.#byWorkflow.values()) for (const s of set) s.resync();
      },
    );
  }

  async stop(): Promise<void> {
    await this.#listening?.unlisten();
    this.#listening = undefined;
  }

  /** Streams open in this process. */
  get subscribers(): number {
    let count = 0;
    for (const set of this.#byWorkflow.values()) count += set.size;
    return count;
  }

  /** Calls `subscriber` for every change of the workflow's executions until the returned function is called. */
  subscribe(workflowId: number, subscriber: ExecutionSubscriber): () => void {
    const set = this.#byWorkflow.get(workflowId) ?? new Set();
    set.add(subscriber);
    this.#byWorkflow.set(workflowId, set);
    return () => {
      set.delete(subscriber);
      if (set.size === 0 && this.#byWorkflow.get(workflowId) === set) this.#byWorkflow.delete(workflowId);
    };
  }

  #deliver(payload: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    const change = notification.safeParse(parsed);
    if (!change.success) return;
    const subscribers = this.#byWorkflow.get(change.data.workflowId);
    if (!subscribers) return;
    for (const subscriber of subscribers)
      subscriber.changed({ executionId: change.data.id, workflowId: change.data.workflowId });
  }
}
