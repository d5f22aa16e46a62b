import { Connection, type ConnectionOptions } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';

/**
 * Registers a namespace (if new) and waits until the frontend serves it. `tls` for a server that
 * requires it (the TLS test's real server).
 */
export async function ensureNamespace(
  address: string,
  namespace: string,
  timeoutMs = 30_000,
  tls?: ConnectionOptions['tls'],
): Promise<void> {
  const connection = await Connection.connect({ address, tls });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
    } catch (error) {
      if (!/already exists|AlreadyExists/i.test(String(error))) throw error;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await connection.workflowService.listOpenWorkflowExecutions({ namespace, maximumPageSize: 1 });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await connection.close();
  }
}
