import { apiClient, type Execution, isRecord } from './api.js';

// The execution stream (text/event-stream) through the typed client: the route takes the bearer header,
// which EventSource cannot send. Reconnects with Last-Event-ID, so no write is missed across a drop.

export interface StreamHandlers {
  onExecution(execution: Execution): void;
  onState(state: 'live' | 'reconnecting'): void;
}

function toExecution(data: string): Execution | undefined {
  const parsed: unknown = JSON.parse(data);
  if (!isRecord(parsed) || typeof parsed.id !== 'number' || typeof parsed.status !== 'string')
    return undefined;
  // The server sends the same shape as the executions list (the OpenAPI document's Execution).
  const execution: Execution = Object.assign(emptyExecution(), parsed);
  return execution;
}

function emptyExecution(): Execution {
  return {
    id: 0,
    workflowId: 0,
    status: 'running',
    triggerData: null,
    actionResult: null,
    errorMessage: null,
    startedAt: '',
    completedAt: null,
    temporalWorkflowId: '',
    temporalRunId: null,
    rerunOf: null,
    attempts: 0,
    lastFailure: null,
    cancellation: null,
    timings: {
      acceptedAt: '',
      startedAt: null,
      finishedAt: null,
      queuedMs: null,
      runMs: null,
      totalMs: null,
    },
    temporalUiUrl: null,
  };
}

/** Follows a workflow's executions until `signal` aborts. */
export async function followExecutions(
  token: string,
  workflowId: number,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<void> {
  let lastEventId: string | undefined;
  while (!signal.aborted) {
    try {
      const { data, response } = await apiClient(token).GET('/api/workflows/{id}/executions/stream', {
        params: {
          path: { id: workflowId },
          ...(lastEventId ? { header: { 'last-event-id': lastEventId } } : {}),
        },
        parseAs: 'stream',
        signal,
      });
      if (!response.ok || !data) throw new Error(`the stream answered ${response.status}`);
      handlers.onState('live');
      const reader = data.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          let event = 'message';
          const dataLines: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (name === 'event') event = fieldValue;
            else if (name === 'data') dataLines.push(fieldValue);
            else if (name === 'id') lastEventId = fieldValue;
          }
          if (event !== 'execution' || dataLines.length === 0) continue;
          const execution = toExecution(dataLines.join('\n'));
          if (execution) handlers.onExecution(execution);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    handlers.onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}
